"""Labelled image sets curators give the admin for training (a zip upload or a folder on the server), and what a
training job records for them: per-epoch figures while it runs, the re-embedding once a curator activates it.

The web process checks a set before any job starts (its size, its layout, that every picture opens, the label
fields it gives), so a mistake shows on the form rather than as a failed job much later; the gpu worker reads
the same set back, through the same parser, as training samples. No torch at import: the admin loads this.

A set is laid out either as one folder per class (``<class>/<image>``: single labels of one field the curator
names, "style" by default) or as a CSV at its top with an ``image`` column and one column per field, as
``analysis.training.load_labelled_csv`` reads it (a cell with ``|`` or ``;`` makes its column multi-label).
One folder wrapping everything (as zip tools make) is looked through.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import re
import warnings
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction

from collection import images, storage
from core.models import Job

if TYPE_CHECKING:
    from analysis.models import FeatureModel

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif")
UPLOAD_PREFIX = "training-sets"
MAX_IMAGES = 50_000
# A zip may not unpack to more than this many times its own size: pictures barely compress, a zip bomb does.
MAX_EXPANSION = 20
_MULTI_SPLIT = re.compile(r"[|;]")


class SetRejected(ValueError):
    """What is wrong with a labelled set, in words a curator can act on."""


@dataclass
class LabelledSet:
    """A set's pictures with their labels; ``read(name)`` gives a picture's bytes."""

    layout: str
    rows: list[tuple[str, dict[str, str | list[str] | None]]]
    read: Callable[[str], bytes]
    fields: dict[str, Counter[str]] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {
            "layout": self.layout,
            "images": len(self.rows),
            "fields": {name: dict(counts.most_common()) for name, counts in self.fields.items()},
        }


def _is_picture(name: str) -> bool:
    path = PurePosixPath(name)
    return path.suffix.lower() in IMAGE_EXTENSIONS


def _strip_wrapper(names: list[str]) -> str:
    """The one folder everything sits in, if any (``set/`` of ``set/a/1.jpg``), else ''."""
    tops = {PurePosixPath(n).parts[0] for n in names if len(PurePosixPath(n).parts) > 1}
    loose = [n for n in names if len(PurePosixPath(n).parts) == 1]
    if len(tops) == 1 and not loose:
        top = tops.pop()
        inner = [PurePosixPath(n).relative_to(top) for n in names]
        if any(p.suffix.lower() == ".csv" and len(p.parts) == 1 for p in inner) or all(len(p.parts) > 1 for p in inner):
            return f"{top}/"
    return ""


def _parse(names: list[str], read: Callable[[str], bytes], folder_field: str) -> LabelledSet:
    """Rows from a CSV at the top of the set, else from its class folders."""
    names = [
        n
        for n in names
        if not n.endswith("/") and not any(p.startswith(".") or p == "__MACOSX" for p in PurePosixPath(n).parts)
    ]
    prefix = _strip_wrapper(names)
    csvs = [n for n in names if n.startswith(prefix) and "/" not in n[len(prefix) :] and n.lower().endswith(".csv")]
    if len(csvs) > 1:
        raise SetRejected(f"The set has {len(csvs)} CSV files at its top ({', '.join(sorted(csvs))}); give one.")
    if csvs:
        rows = _csv_rows(read(csvs[0]), prefix, set(names))
        layout = "csv"
    else:
        rows = []
        for name in sorted(n for n in names if n.startswith(prefix) and _is_picture(n)):
            parts = PurePosixPath(name[len(prefix) :]).parts
            if len(parts) < 2:
                raise SetRejected(
                    f"{name} is not inside a class folder: put each picture in the folder of its class "
                    "(or give a CSV with an 'image' column)."
                )
            rows.append((name, {folder_field: parts[0]}))
        layout = "folders"
    if not rows:
        raise SetRejected("The set holds no pictures (JPEG, PNG, WebP, TIFF, BMP or GIF).")
    if len(rows) > MAX_IMAGES:
        raise SetRejected(f"The set holds {len(rows)} pictures; at most {MAX_IMAGES} are taken.")
    labelled = LabelledSet(layout, rows, read)
    for _name, labels in rows:
        for key, value in labels.items():
            values = [value] if isinstance(value, str) else (value or [])
            labelled.fields.setdefault(key, Counter()).update(values)
    return labelled


def _csv_rows(data: bytes, prefix: str, names: set[str]) -> list[tuple[str, dict[str, str | list[str] | None]]]:
    try:
        reader = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise SetRejected(f"The CSV cannot be read: {exc}.") from None
    if not reader or "image" not in reader[0]:
        raise SetRejected("The CSV needs a header row with an 'image' column and at least one row.")
    columns = [c for c in reader[0] if c and c != "image"]
    if not columns:
        raise SetRejected("The CSV has no label column besides 'image'.")
    multi = {c for c in columns if any(_MULTI_SPLIT.search(row.get(c) or "") for row in reader)}
    rows: list[tuple[str, dict[str, str | list[str] | None]]] = []
    for number, row in enumerate(reader, start=2):
        name = prefix + (row.get("image") or "").strip().lstrip("/")
        if ".." in PurePosixPath(name).parts or name not in names or not _is_picture(name):
            raise SetRejected(
                f"Line {number} of the CSV names {row.get('image')!r}, which is not a picture in the set."
            )
        labels: dict[str, str | list[str] | None] = {}
        for column in columns:
            cell = (row.get(column) or "").strip()
            labels[column] = (
                [v.strip() for v in _MULTI_SPLIT.split(cell) if v.strip()] if column in multi else cell or None
            )
        rows.append((name, labels))
    return rows


def _check_pictures(labelled: LabelledSet) -> None:
    """Every picture must open (its header, not a full decode): a broken one is named before training starts.

    The size is checked against IMAGE_MAX_PIXELS as for any upload: the worker decodes each picture in full,
    and Pillow alone only warns below twice its own limit, so a set of 200-megapixel PNGs of a few KB each
    would pass the form and cost the worker gigabytes.
    """
    from PIL import Image, UnidentifiedImageError

    images._configure_pillow()
    for name, _labels in labelled.rows:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                with Image.open(io.BytesIO(labelled.read(name))) as image:
                    width, height = image.size
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise SetRejected(f"{name} is refused as a possible decompression bomb ({exc})") from None
        except (UnidentifiedImageError, OSError) as exc:
            raise SetRejected(f"{name} is not a picture that can be opened ({type(exc).__name__}).") from None
        if width * height > settings.IMAGE_MAX_PIXELS:
            raise SetRejected(
                f"{name} is {width}×{height}, {width * height / 1e6:.0f} megapixels; "
                f"at most {settings.IMAGE_MAX_PIXELS / 1e6:.0f} are taken (IMAGE_MAX_PIXELS)."
            )


def read_zip(data: bytes, folder_field: str = "style", *, check: bool = True) -> LabelledSet:
    """A zip upload as a set; refused with the reason when it is too big, unreadable, or laid out otherwise."""
    limit = settings.TRAINING_UPLOAD_MAX_BYTES
    if len(data) > limit:
        raise SetRejected(f"The zip is {len(data) / 2**20:.1f} MiB; at most {limit / 2**20:.0f} MiB is taken.")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except zipfile.BadZipFile:
        raise SetRejected("The upload is not a zip file.") from None
    if sum(i.file_size for i in infos) > MAX_EXPANSION * max(len(data), 2**20):
        raise SetRejected("The zip unpacks to far more than its size; it is refused.")
    if any(".." in PurePosixPath(i.filename).parts or i.filename.startswith("/") for i in infos):
        raise SetRejected("The zip holds paths outside itself ('..' or absolute paths).")
    labelled = _parse([i.filename for i in infos], archive.read, folder_field)
    if check:
        _check_pictures(labelled)
    return labelled


def allowed_folder(path: str) -> Path:
    """A folder on the server, if it lies under TRAINING_SETS_ROOT (symbolic links resolved first)."""
    root = settings.TRAINING_SETS_ROOT
    if not root:
        raise SetRejected("Folders on the server are switched off (the setting TRAINING_SETS_ROOT is not set).")
    base = Path(root).resolve()
    folder = (base / path).resolve()
    if folder != base and base not in folder.parents:
        raise SetRejected(f"{path} is not under the folder allowed for training sets ({base}).")
    if not folder.is_dir():
        raise SetRejected(f"{folder} is not a folder on the server.")
    return folder


def read_folder(path: str, folder_field: str = "style", *, check: bool = True) -> LabelledSet:
    folder = allowed_folder(path)
    names = [p.relative_to(folder).as_posix() for p in sorted(folder.rglob("*")) if p.is_file()]
    # The folder's own check resolves links, but a link inside it could still point anywhere on the server.
    outside = [n for n in names if folder not in (folder / n).resolve().parents]
    if outside:
        raise SetRejected(f"{outside[0]} links outside the folder; copy the picture in instead.")
    labelled = _parse(names, lambda name: (folder / name).read_bytes(), folder_field)
    if check:
        _check_pictures(labelled)
    return labelled


class StorageFeatureCache:
    """The CPU training path's feature cache in the private storage area (analysis.cached_training)."""

    def get(self, key: str) -> bytes | None:
        try:
            return storage.get("private", key)
        except FileNotFoundError:
            return None

    def put(self, key: str, data: bytes) -> None:
        storage.put("private", key, data)


def store_upload(data: bytes) -> str:
    """Keeps a checked zip in the private area, content-addressed, for the worker to read back."""
    key = f"{UPLOAD_PREFIX}/{hashlib.sha256(data).hexdigest()}.zip"
    if not storage.exists("private", key):
        storage.put("private", key, data)
    return key


class _Picture:
    """A set's picture for training: read when needed, identified by its content for the feature cache."""

    def __init__(self, labelled: LabelledSet, name: str) -> None:
        self.labelled, self.name = labelled, name
        self.sha256 = hashlib.sha256(labelled.read(name)).hexdigest()

    def __call__(self) -> bytes:
        return self.labelled.read(self.name)


def samples_for(samples: list[Any], params: dict[str, Any]) -> list[Any]:
    """The job's training samples: the collection's, plus its labelled set, kept to the fields it names.

    ``labelled_path`` is the command line's (any folder or CSV the operator names); ``labelled_upload`` and
    ``labelled_folder`` are the admin's, read through this module's checks again on the worker.
    """
    from analysis import training

    folder_field = params.get("folder_field") or "style"
    if params.get("labelled_path"):
        samples = samples + training.load_labelled_set(params["labelled_path"])
    labelled = None
    if params.get("labelled_upload"):
        labelled = read_zip(storage.get("private", params["labelled_upload"]), folder_field, check=False)
    elif params.get("labelled_folder"):
        labelled = read_folder(params["labelled_folder"], folder_field, check=False)
    if labelled is not None:
        samples = samples + [
            training.Sample(image=_Picture(labelled, name), labels=dict(labels), key=name)
            for name, labels in labelled.rows
        ]
    wanted = set(params.get("fields") or [])
    if not wanted:
        return samples
    kept = []
    for sample in samples:
        labels = {k: v for k, v in sample.labels.items() if k in wanted}
        if any(v is not None for v in labels.values()):
            kept.append(training.Sample(image=sample.image, labels=labels, key=sample.key))
    return kept


def epoch_recorder(job: Job) -> Callable[[dict[str, Any]], None]:
    """Stores each epoch's figures in the job's result as training goes, for the admin's chart."""

    def record(entry: dict[str, Any]) -> None:
        # A head with no held-out example has no figure (None; NaN, which JSON cannot hold, from older code).
        heads = {
            k: (float(v) if v is not None and math.isfinite(v) else None) for k, v in entry.get("heads", {}).items()
        }
        entry = {**entry, "train_loss": float(entry.get("train_loss", 0.0)), "heads": heads}
        epochs = [*job.result.get("epochs", []), entry]
        job.result = {**job.result, "epochs": epochs}
        Job.objects.filter(pk=job.pk).update(result=job.result)

    return record


def start_embedding(feature_model: FeatureModel) -> Job:
    """Embeds the collection with the model in the background; it becomes active once every work has a vector."""
    from analysis.models import FeatureModel
    from analysis.tasks import embed_collection

    FeatureModel.objects.filter(pk=feature_model.pk).update(status=FeatureModel.Status.EMBEDDING)
    feature_model.status = FeatureModel.Status.EMBEDDING
    job = Job.objects.create(kind="embed_collection", target=feature_model.version)
    transaction.on_commit(lambda: embed_collection.delay(feature_model.pk, job.pk))
    return job


def after_training(feature_model: FeatureModel, params: dict[str, Any]) -> Job | None:
    """Re-embeds with the new model at once, or (``activate_later``, the admin's way) waits for a curator."""
    from analysis.models import FeatureModel

    if not params.get("activate_later"):
        return start_embedding(feature_model)
    FeatureModel.objects.filter(pk=feature_model.pk).update(
        status=FeatureModel.Status.READY, status_message="trained; waiting for a curator to activate it"
    )
    return None
