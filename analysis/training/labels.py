"""Labelled samples: reading them (folders, CSV), checking there are enough, the held-out split, and the
dataset that decodes them for training.
"""

from __future__ import annotations

import csv
import math
import re
from collections import Counter
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
from PIL import Image
from torch.utils.data import Dataset

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif")

Kind = Literal["single", "multi"]
LabelValue = str | Sequence[str] | None
ImageRef = str | Path | Callable[[], Image.Image | bytes]
ProgressCallback = Callable[[int, int, str], None]
# Called after each epoch with {"epoch", "train_loss", "heads": {field: held-out metric value}} (the admin's chart).
EpochCallback = Callable[[dict], None]


@dataclass
class Sample:
    """One labelled image.

    ``image`` is a path or a zero-argument callable returning a PIL image or the
    encoded bytes. ``labels`` maps field -> label: a string for single-label
    fields, a list of strings for multi-label fields (an empty list means
    "labelled, none apply"), ``None``/absent for "not labelled".
    """

    image: ImageRef
    labels: dict[str, LabelValue]
    key: Hashable | None = None


@dataclass(frozen=True)
class LabelField:
    name: str
    kind: Kind
    classes: tuple[str, ...]


@dataclass
class LabelCheck:
    """Result of :func:`min_labels_ok`; falsy when no field can be trained.

    ``reason`` is a sentence for curators/logs: why training is impossible, or
    which classes were left out. ``fields`` holds the trainable fields with the
    classes that have enough examples.
    """

    ok: bool
    reason: str
    fields: dict[str, LabelField]

    def __bool__(self) -> bool:
        return self.ok


def load_image_folder(root: str | Path, field: str = "style") -> list[Sample]:
    """Folder-per-class layout (``root/<class>/<image>``) as single-label samples of ``field``."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a directory")
    samples: list[Sample] = []
    for class_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for path in sorted(class_dir.rglob("*")):
            if path.is_file() and path.suffix.lower() in IMAGE_EXTENSIONS:
                samples.append(Sample(image=path, labels={field: class_dir.name}, key=str(path.relative_to(root))))
    if not samples:
        raise ValueError(f"no images found in class folders under {root}")
    return samples


_MULTI_SPLIT = re.compile(r"[|;]")


def load_labelled_csv(
    csv_path: str | Path,
    image_root: str | Path | None = None,
    multi_label_fields: Sequence[str] | None = None,
    image_column: str = "image",
) -> list[Sample]:
    """CSV with an image path column and one column per label field.

    A field is multi-label if named in ``multi_label_fields`` or, when that is not
    given, if any of its cells contains ``|`` or ``;`` (the separators). Empty
    single-label cells mean "unlabelled"; empty multi-label cells mean "none apply".
    Relative image paths resolve against ``image_root`` (default: the CSV's folder).
    """
    csv_path = Path(csv_path)
    image_root = Path(image_root) if image_root is not None else csv_path.parent
    with csv_path.open(newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        raise ValueError(f"{csv_path} has no rows")
    columns = [c for c in rows[0].keys() if c != image_column]
    if image_column not in rows[0]:
        raise ValueError(f"{csv_path} has no {image_column!r} column")
    if multi_label_fields is None:
        multi = {c for c in columns if any(_MULTI_SPLIT.search(row[c] or "") for row in rows)}
    else:
        multi = set(multi_label_fields)
    samples: list[Sample] = []
    for row in rows:
        labels: dict[str, LabelValue] = {}
        for column in columns:
            cell = (row[column] or "").strip()
            if column in multi:
                labels[column] = [v.strip() for v in _MULTI_SPLIT.split(cell) if v.strip()]
            else:
                labels[column] = cell or None
        path = Path(row[image_column])
        if not path.is_absolute():
            path = image_root / path
        samples.append(Sample(image=path, labels=labels, key=row[image_column]))
    return samples


def load_labelled_set(path: str | Path, field: str = "style") -> list[Sample]:
    """A ``.csv`` file -> :func:`load_labelled_csv`; a directory -> :func:`load_image_folder`."""
    path = Path(path)
    if path.is_file() and path.suffix.lower() == ".csv":
        return load_labelled_csv(path)
    return load_image_folder(path, field=field)


# --------------------------------------------------------------------------- label checks


def infer_kinds(samples: Sequence[Sample]) -> dict[str, Kind]:
    """single for string labels, multi for list labels; mixing both in one field is an error."""
    kinds: dict[str, Kind] = {}
    for sample in samples:
        for name, value in sample.labels.items():
            if value is None:
                continue
            kind: Kind = "single" if isinstance(value, str) else "multi"
            if kinds.setdefault(name, kind) != kind:
                raise ValueError(f"field {name!r} mixes single labels and label lists")
    return kinds


def _labelled(samples: Sequence[Sample], name: str, kind: Kind) -> list[Sample]:
    out = []
    for s in samples:
        value = s.labels.get(name)
        if value is None or (kind == "single" and value == ""):
            continue
        out.append(s)
    return out


def min_labels_ok(
    samples: Sequence[Sample],
    kinds: Mapping[str, Kind] | None = None,
    min_per_class: int = 5,
    min_classes: int = 2,
) -> LabelCheck:
    """Decide whether there are enough labels to fine-tune, and with which classes.

    A single-label class needs ``min_per_class`` examples and a single-label field
    needs ``min_classes`` such classes. A multi-label class needs
    ``min_per_class`` positives *and* negatives (a tag on every image teaches
    nothing); a multi-label field needs one such class. Classes below the bar are
    left out (their images remain unlabelled for that field) rather than failing
    the whole run. If no field is trainable the platform should fall back to the
    pretrained backbone's features - ``reason`` says why.
    """
    kinds = dict(kinds) if kinds is not None else infer_kinds(samples)
    fields: dict[str, LabelField] = {}
    problems: list[str] = []
    notes: list[str] = []
    for name, kind in sorted(kinds.items()):
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            problems.append(f"field name {name!r} must be an identifier")
            continue
        labelled = _labelled(samples, name, kind)
        counts: Counter[str] = Counter()
        for s in labelled:
            value = s.labels[name]
            counts.update([value] if kind == "single" else set(value))  # type: ignore[list-item,arg-type]
        if kind == "single":
            keep = sorted(c for c, n in counts.items() if n >= min_per_class)
            needed = min_classes
        else:
            keep = sorted(c for c, n in counts.items() if n >= min_per_class and len(labelled) - n >= min_per_class)
            needed = 1
        dropped = sorted(set(counts) - set(keep))
        if len(keep) < needed:
            problems.append(
                f"{name}: {len(labelled)} labelled images, {len(keep)} classes with at least "
                f"{min_per_class} examples{' and non-examples' if kind == 'multi' else ''} "
                f"(need {needed})"
            )
            continue
        if dropped:
            notes.append(f"{name}: left out classes with too few examples: {', '.join(dropped)}")
        fields[name] = LabelField(name, kind, tuple(keep))
    if not fields:
        reason = "too few labels to fine-tune; use pretrained features. " + (
            "; ".join(problems) if problems else "no labelled fields"
        )
        return LabelCheck(False, reason, {})
    summary = ", ".join(f"{f.name} ({f.kind}, {len(f.classes)} classes)" for f in fields.values())
    reason = f"trainable: {summary}" + ("; " + "; ".join(problems + notes) if problems or notes else "")
    return LabelCheck(True, reason, fields)


def split_samples(
    samples: Sequence[Sample],
    val_fraction: float = 0.2,
    seed: int = 0,
    stratify_field: str | None = None,
) -> tuple[list[int], list[int]]:
    """Seeded held-out split, stratified on a single-label field where possible.

    Returns index lists (train, val) so callers (tests, benches) can reproduce the
    exact split :func:`fine_tune` used. Unlabelled samples form their own stratum.
    """
    from sklearn.model_selection import train_test_split

    indices = list(range(len(samples)))
    if val_fraction <= 0 or len(samples) < 2:
        return indices, []
    strata = None
    if stratify_field is not None:
        strata = [str(s.labels.get(stratify_field)) for s in samples]
        counts = Counter(strata)
        n_val = math.ceil(len(samples) * val_fraction)
        if min(counts.values()) < 2 or n_val < len(counts):
            strata = None
    train, val = train_test_split(indices, test_size=val_fraction, random_state=seed, stratify=strata)
    return sorted(train), sorted(val)


def _open_image(ref: ImageRef, draft_size: int | None) -> Image.Image:
    from analysis.extract import decode_image

    return decode_image(ref() if callable(ref) else ref, draft_size)


class _LabelledDataset(Dataset):
    def __init__(
        self,
        samples: Sequence[Sample],
        fields: Sequence[LabelField],
        transform: Callable[[Image.Image], torch.Tensor],
        draft_size: int | None,
    ) -> None:
        self.samples = samples
        self.fields = fields
        self.transform = transform
        self.draft_size = draft_size
        self.index = {f.name: {c: i for i, c in enumerate(f.classes)} for f in fields}

    def __len__(self) -> int:
        return len(self.samples)

    def targets(self, sample: Sample) -> dict[str, torch.Tensor]:
        out: dict[str, torch.Tensor] = {}
        for f in self.fields:
            value = sample.labels.get(f.name)
            lookup = self.index[f.name]
            if f.kind == "single":
                out[f.name] = torch.tensor(lookup.get(value, -1) if isinstance(value, str) else -1)
            else:
                vec = torch.zeros(len(f.classes) + 1)  # last slot: "is labelled" mask
                if value is not None:
                    vec[-1] = 1.0
                    for v in value:
                        if v in lookup:
                            vec[lookup[v]] = 1.0
                out[f.name] = vec
        return out

    def __getitem__(self, i: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        sample = self.samples[i]
        image = _open_image(sample.image, self.draft_size)
        return self.transform(image), self.targets(sample)
