"""Worker-side feature services: which model embeds, embedding works, fine-tuning.

Only tasks (on the ``gpu`` queue) import this module; it imports torch.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef

from analysis import training_sets
from analysis.models import Embedding, FeatureModel
from analysis.training_sets import StorageFeatureCache
from collection import storage
from collection.models import Artwork, ImageFile
from core.models import Job

log = logging.getLogger(__name__)

_lock = threading.Lock()
_extractors: dict[str, Any] = {}


def backbone_spec() -> Any:
    from analysis.backbone import BackboneSpec

    return BackboneSpec(
        name=settings.FEATURE_BACKBONE,
        weights=settings.FEATURE_WEIGHTS,  # type: ignore[arg-type]  # env_choice admits only WeightsSource's values
        checkpoint_path=settings.FEATURE_CHECKPOINT or None,
    )


def _device() -> str | None:
    return None if settings.ML_DEVICE == "auto" else settings.ML_DEVICE


def _pretrained_extractor() -> Any:
    from analysis.extract import Extractor

    return Extractor.from_backbone(backbone_spec(), device=_device())


def extractor_for(feature_model: FeatureModel) -> Any:
    """One loaded model per process and feature model version."""
    from analysis.extract import Extractor

    with _lock:
        hit = _extractors.get(feature_model.version)
        if hit is not None:
            return hit
        if feature_model.kind == FeatureModel.Kind.PRETRAINED:
            extractor = _pretrained_extractor()
        else:
            data = storage.get("private", feature_model.checkpoint_key)
            extractor = Extractor.from_checkpoint(data, device=_device())
        if extractor.feature_version != feature_model.version:
            raise RuntimeError(
                f"the loaded model is {extractor.feature_version}, but the feature model record says "
                f"{feature_model.version}: refusing to mix vectors from different models"
            )
        _extractors.clear()
        _extractors[feature_model.version] = extractor
        return extractor


def active_feature_model() -> FeatureModel:
    """The active model, creating the pretrained backbone's record on first use."""
    active = FeatureModel.objects.active()
    if active is not None:
        return active
    with _lock:
        extractor = _pretrained_extractor()
    feature_model, _ = FeatureModel.objects.get_or_create(
        version=extractor.feature_version,
        defaults={
            "backbone": settings.FEATURE_BACKBONE,
            "kind": FeatureModel.Kind.PRETRAINED,
            "dim": extractor.dim,
            "params": {"weights": settings.FEATURE_WEIGHTS},
        },
    )
    with _lock:
        _extractors[feature_model.version] = extractor
    active = FeatureModel.objects.active()
    if active is None:
        feature_model.activate()
        return feature_model
    return active


def _models_to_embed() -> list[FeatureModel]:
    """The active model, plus one being rolled out in the background (so new works are not missed)."""
    models = [active_feature_model()]
    models += list(FeatureModel.objects.filter(status=FeatureModel.Status.EMBEDDING).exclude(pk=models[0].pk))
    return models


def _save(artwork_id: int, feature_model: FeatureModel, sha256: str, vector: np.ndarray) -> None:
    Embedding.objects.update_or_create(
        artwork_id=artwork_id,
        feature_model=feature_model,
        defaults={"vector": Embedding.pack(vector), "image_sha256": sha256},
    )


def _save_batch(feature_model: FeatureModel, rows: list[tuple[int, str, np.ndarray]]) -> None:
    """One INSERT ... ON CONFLICT UPDATE per batch instead of a SELECT plus a write per work (update_or_create)."""
    if not rows:
        return
    from core.stamp import bump_stamp

    Embedding.objects.bulk_create(
        [
            Embedding(artwork_id=pk, feature_model=feature_model, image_sha256=sha256, vector=Embedding.pack(vector))
            for pk, sha256, vector in rows
        ],
        update_conflicts=True,
        unique_fields=["artwork", "feature_model"],
        update_fields=["vector", "image_sha256"],
    )
    # bulk_create sends no post_save, which is what normally invalidates the similarity index.
    transaction.on_commit(bump_stamp)


def embed_artwork(artwork: Artwork) -> int:
    """Idempotent: a vector for the same image and model is not recomputed."""
    image = artwork.image
    if image is None:
        return 0
    done = 0
    for feature_model in _models_to_embed():
        existing = Embedding.objects.filter(artwork=artwork, feature_model=feature_model).first()
        if existing is not None and existing.image_sha256 == image.sha256:
            continue
        extractor = extractor_for(feature_model)
        # Read here, not inside the extractor: a storage outage must raise (and be retried), not
        # become a per-item failure.
        data = storage.get("private", image.original)
        spec = extractor.input_spec
        if spec:
            from analysis.extract import PreparedInput

            # A work's first embedding decodes its picture anyway: keep the model input for the next.
            key = prepared_input_key(spec, image.sha256)

            def store(blob: bytes, key: str = key) -> None:
                storage.put("private", key, blob)

            vector = extractor.embed_item(PreparedInput(b"", data, store))
        else:
            vector = extractor.embed_bytes([data])[0]
        _save(artwork.pk, feature_model, image.sha256, vector)
        done += 1
    return done


def embed_bytes(data: bytes) -> np.ndarray:
    return extractor_for(active_feature_model()).embed_bytes([data])[0]


# Vectors per upsert (and commit, and job progress update) in embed_collection. CPU batches are
# small (4): a commit plus a job progress UPDATE per batch cost ~8% of the images/s on the 2-core box
# with SQLite (bench/features.py, platform path). A stop loses at most this many computed vectors,
# which the resumable job simply recomputes.
SAVE_EVERY = 64


def embed_collection(feature_model: FeatureModel, *, job: Job | None = None) -> dict[str, int]:
    """Batched and resumable: only works without a current vector under this model are embedded."""
    pending = list(
        Artwork.objects.exclude(image=None)
        .exclude(embeddings__feature_model=feature_model)
        .select_related("image")
        .order_by("pk")
    )
    # A vector made from a picture the work no longer shows; compared in the database, so an
    # already embedded collection costs one query here, not a read of every vector.
    stale = list(
        Artwork.objects.filter(embeddings__feature_model=feature_model)
        .exclude(image=None)
        .exclude(
            Exists(
                Embedding.objects.filter(
                    feature_model=feature_model, artwork=OuterRef("pk"), image_sha256=OuterRef("image__sha256")
                )
            )
        )
        .select_related("image")
        .order_by("pk")
    )
    works = pending + stale
    if job:
        job.start(total=len(works), message=f"embedding {len(works)} works with {feature_model.version}")
    from analysis.extract import default_batch_size

    extractor = extractor_for(feature_model)
    by_id = {w.pk: w for w in works}
    spec = extractor.input_spec
    if spec:
        from analysis.extract import PreparedInput

        items: list[tuple[int, Any]] = []
        for w in works:
            assert w.image is not None  # chosen from works with a picture
            key = prepared_input_key(spec, w.image.sha256)
            items.append((w.pk, PreparedInput(_reader(key), _reader(w.image.original), _InputStore(key))))
    else:
        items = [(w.pk, _reader(w.image.original)) for w in works if w.image is not None]
    embedded = failed = 0
    rows: list[tuple[int, str, np.ndarray]] = []

    def flush() -> None:
        nonlocal embedded, rows
        _save_batch(feature_model, rows)
        embedded += len(rows)
        rows = []
        if job:
            job.checkpoint(embedded + failed)  # a cancel stops it here: what is saved is whole, a re-run resumes

    for keys, vectors, errors in extractor.embed_stream(
        items,
        batch_size=settings.FEATURE_BATCH_SIZE or default_batch_size(extractor.device),
        num_workers=settings.FEATURE_LOADER_WORKERS,
    ):
        rows += [(key, _picture(by_id[key]).sha256, vector) for key, vector in zip(keys, vectors)]
        for key, reason in errors.items():
            failed += 1
            by_id[key].set_processing("failed", stage="features", error=reason)
        if len(rows) >= SAVE_EVERY:
            flush()
    flush()
    _InputStore.wait()
    if feature_model.status == FeatureModel.Status.EMBEDDING and not feature_model.missing_artworks().exists():
        feature_model.activate()
    return {"embedded": embedded, "failed": failed, "total": len(works)}


def prepared_input_key(spec: str, sha256: str) -> str:
    """Where a picture's model input for one preprocessing lives (private, content-addressed like originals)."""
    return f"inputs/{spec}/{sha256[:2]}/{sha256}.npy"


def _picture(work: Artwork) -> ImageFile:
    """The work's picture, for code that only ever sees works chosen for having one."""
    if work.image is None:
        raise ValueError(f"artwork {work.pk} has no picture")
    return work.image


class _InputStore:
    """Stores a prepared model input in the background (picklable: only the key travels).

    The upload must not hold up the decode lane that made the input (an S3 PUT
    costs several forward passes); a write lost to a crash is harmless, as an
    unreadable stored input is simply made again from the original.
    """

    _pool: ThreadPoolExecutor | None = None
    _pending: list[Future] = []
    _lock = threading.Lock()

    def __init__(self, key: str) -> None:
        self.key = key

    def __call__(self, data: bytes) -> None:
        cls = type(self)
        with cls._lock:
            if cls._pool is None:
                cls._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="store-input")
            cls._pending.append(cls._pool.submit(storage.put, "private", self.key, data))

    @classmethod
    def wait(cls) -> None:
        with cls._lock:
            pending, cls._pending = cls._pending, []
        for future in pending:
            try:
                future.result()
            except Exception:
                log.warning("could not store a prepared model input", exc_info=True)


class _reader:
    """Picklable loader for DataLoader workers: reads one original from storage when called.

    ``sha256`` names the picture's content, so cached features follow the image, not the work.
    """

    def __init__(self, key: str, sha256: str | None = None) -> None:
        self.key = key
        self.sha256 = sha256

    def __call__(self) -> bytes:
        return storage.get("private", self.key)


# Catalogue fields a museum fills in anyway, usable as training heads when filled in often enough:
# below this share of the works with a picture, a field says more about cataloguing habits than the works.
CATALOGUE_FIELDS = ("artist", "classification", "decade", "medium")
CATALOGUE_MIN_COVERAGE = 0.3


def _catalogue_value(work: Artwork, field: str) -> str | None:
    """One class per work: the first credited artist, the decade, the classification, the medium as written."""
    if field == "artist":
        artist = next(iter(work.artists.all()), None)
        value = artist.name if artist is not None else work.artist_display
    elif field == "decade":
        value = f"{work.decade}s" if work.decade is not None else ""
    else:
        value = getattr(work, field) or ""
    value = " ".join(str(value).split())
    return (value.lower() if field == "medium" else value) or None


def _collection_samples() -> tuple[list[Any], dict[str, str]]:
    """Curator labels (first style, motifs) plus catalogue fields filled in on enough works.

    Returns the samples and, per field, why it was offered or left out; which
    classes have enough works is then :func:`analysis.training.min_labels_ok`'s call.
    """
    from analysis.training import Sample

    works = list(Artwork.objects.exclude(image=None).select_related("image").prefetch_related("labels", "artists"))
    coverage = {f: sum(_catalogue_value(w, f) is not None for w in works) for f in CATALOGUE_FIELDS}
    report: dict[str, str] = {}
    used: list[str] = []
    for field in CATALOGUE_FIELDS:
        share = coverage[field] / len(works) if works else 0.0
        if share >= CATALOGUE_MIN_COVERAGE:
            used.append(field)
            report[field] = f"catalogue field filled in on {coverage[field]} of {len(works)} works"
        else:
            report[field] = (
                f"left out: filled in on {coverage[field]} of {len(works)} works "
                f"(less than {CATALOGUE_MIN_COVERAGE:.0%})"
            )
    samples = []
    for work in works:
        styles, motifs = work.styles, work.motifs
        labels: dict[str, Any] = {}
        if styles:
            labels["style"] = styles[0]
        if motifs:
            labels["motifs"] = motifs
        for field in used:
            labels[field] = _catalogue_value(work, field)
        if not any(v is not None for v in labels.values()):
            continue
        picture = _picture(work)
        samples.append(Sample(image=_reader(picture.original, picture.sha256), labels=labels, key=work.pk))
    report["style"] = f"curator labels on {sum('style' in s.labels for s in samples)} works"
    report["motifs"] = f"curator labels on {sum('motifs' in s.labels for s in samples)} works"
    return samples, report


TRAINING_PATHS = ("auto", "cpu", "gpu")


def training_path(requested: str | None = None) -> str:
    """``cpu`` (cached features, minutes) unless a GPU is present or asked for; ``gpu`` is the full fine-tune.

    The full fine-tune takes many hours on a 2-core server and, cut short, made
    the features worse (issue #14); on a GPU it is minutes and goes further.
    """
    import torch

    requested = requested or "auto"
    if requested not in TRAINING_PATHS:
        raise ValueError(f"training path must be one of {', '.join(TRAINING_PATHS)}, not {requested!r}")
    if requested == "auto":
        return "gpu" if torch.cuda.is_available() else "cpu"
    return requested


def _config_for(path: str, options: dict[str, Any]) -> Any:
    """The chosen path's config from the job's options; an option the path does not have is an error."""
    import dataclasses

    from analysis import training
    from analysis.cached_training import CachedTrainConfig

    config_class = CachedTrainConfig if path == "cpu" else training.TrainConfig
    known = {f.name for f in dataclasses.fields(config_class)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise ValueError(
            f"the {path} training path has no option {', '.join(unknown)} (it has: {', '.join(sorted(known))})"
        )
    return config_class(**options)


def _training_samples(params: dict[str, Any], config: Any) -> tuple[list[Any], dict[str, str], Any]:
    """(samples, what each catalogue field gave, the label check): curator labels plus any labelled image set."""
    from analysis import training

    samples, field_report = _collection_samples()
    samples = training_sets.samples_for(samples, params)
    check = training.min_labels_ok(samples, min_per_class=config.min_per_class, min_classes=config.min_classes)
    return samples, field_report, check


def _train(path: str, samples: list[Any], config: Any, params: dict[str, Any], job: Job) -> dict[str, Any]:
    """A checkpoint from either path; both write the same format, so nothing after this cares which ran."""
    from analysis import training

    # a cancel stops it at job.checkpoint: nothing is stored before the end
    spec, progress, on_epoch = backbone_spec(), job.checkpoint, training_sets.epoch_recorder(job)
    if path != "cpu":
        return training.fine_tune(samples, spec, config, progress=progress, on_epoch=on_epoch)
    from analysis.cached_training import train_on_cached_features

    cache, refresh = StorageFeatureCache(), bool(params.get("refresh_cache"))
    return train_on_cached_features(
        samples, spec, config, cache=cache, refresh_cache=refresh, progress=progress, on_epoch=on_epoch
    )


def _register_model(checkpoint: dict[str, Any]) -> FeatureModel:
    """Stores the checkpoint and records its model as "embedding" (the active one serves until it is done)."""
    from analysis import training
    from analysis.extract import Extractor

    data = training.checkpoint_to_bytes(checkpoint)
    extractor = Extractor.from_checkpoint(data, device=_device())
    version = extractor.feature_version
    key = f"models/{version.replace(':', '_')}.pt"
    storage.put("private", key, data)
    feature_model, _ = FeatureModel.objects.update_or_create(
        version=version,
        defaults={
            "backbone": checkpoint["backbone"],
            "kind": FeatureModel.Kind.FINETUNED,
            "dim": checkpoint["embedding_dim"],
            "checkpoint_key": key,
            "label_sets": checkpoint["fields"],
            "metrics": checkpoint["metrics"],
            "params": checkpoint.get("params", {}),
            "status": FeatureModel.Status.EMBEDDING,
        },
    )
    with _lock:
        _extractors[version] = extractor
    return feature_model


def train_features(job: Job) -> dict[str, Any]:
    """Trains on curator labels (+ an optional labelled image set); with too few labels, says so.

    ``job.params["path"]`` picks the CPU path (embedding layer on cached backbone
    features) or the full fine-tune; ``auto`` (the default) takes the CPU path
    when the worker has no GPU. Both give the same checkpoint format. The new
    model embeds the whole collection in the background; the current model keeps
    serving until that finishes (embed_collection activates it). The admin's jobs
    (``activate_later``) leave that to a curator who has seen the per-epoch figures.
    """
    params = dict(job.params)
    path = training_path(params.get("path"))
    config = _config_for(path, dict(params.get("options", {})))
    job.start(total=100, message=f"collecting labels ({path} path)")
    samples, field_report, check = _training_samples(params, config)
    if not check:
        message = f"not enough labels to fine-tune ({check.reason}); the pretrained backbone's features stay in use"
        job.finish({"trained": False, "reason": check.reason, "fields": field_report}, message=message)
        return {"trained": False, "reason": check.reason}
    field_report = {
        **{name: note for name, note in field_report.items() if name not in check.fields},
        **{name: f"used: {field_report.get(name, 'labelled image set')}" for name in check.fields},
        "classes": check.reason,
    }
    checkpoint = _train(path, samples, config, params, job)
    checkpoint["params"]["path"] = path
    checkpoint["params"]["fields_used"] = field_report
    feature_model = _register_model(checkpoint)
    version = feature_model.version
    training_sets.after_training(feature_model, params)  # re-embeds now, or once a curator activates it
    outcome = {"trained": True, "version": version, "path": path}
    stored = {**job.result, **outcome, "metrics": checkpoint["metrics"], "fields": field_report}
    job.finish(stored, message=f"trained {version} ({path} path)")
    return outcome
