"""One import run: every row of every file through prepare and apply, counted and reported.

Each record is its own transaction: a bad row is reported with its line number
and reason and the rest import. Works are matched by accession number, so
running the same import twice changes nothing the second time. Each file's
outcome is kept as an ImportRun, for curators who were not watching the command.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError
from django.utils import timezone

from collection import images, processing
from collection.importers.applying import apply
from collection.importers.preparing import RowRejected, prepare
from collection.importers.reading import Source, read_source
from collection.models import ImportRun
from core.models import Job, JobCancelled, JobLog

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class RowProblem:
    line: int
    accession_number: str
    reason: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f" ({self.accession_number})" if self.accession_number else "")
        return f"{where}: {self.reason}"


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[RowProblem] = field(default_factory=list)
    warnings: list[RowProblem] = field(default_factory=list)
    # Fields where a curator's edit was kept instead of the file's value, one per work and field.
    conflicts: list[RowProblem] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged + self.rejected

    def summary(self) -> str:
        text = f"created {self.created}, updated {self.updated}, unchanged {self.unchanged}, rejected {self.rejected}"
        if self.conflicts:
            text += f", {len(self.conflicts)} curator edit(s) kept (conflict lines above; --overwrite-edits takes the file's values)"
        return text


def import_records(
    source: Source,
    progress: Progress | None = None,
    *,
    seen: dict[str, tuple[str, int]] | None = None,
    overwrite_edits: bool = False,
    stop: Callable[[], bool] | None = None,
) -> ImportResult:
    """``seen`` (accession number -> source and line) is shared by the files of one run, so a work
    given twice is reported on its second occurrence, whichever file it is in, and never applied twice.
    ``stop`` is asked between records (each its own transaction): True ends the import there."""
    result = ImportResult()
    seen = {} if seen is None else seen
    total = len(source.records)
    if source.unknown_columns:
        result.warnings.append(
            RowProblem(1, "", f"ignored column(s) with no field: {', '.join(source.unknown_columns)}")
        )
    for done, (line, record) in enumerate(source.records, start=1):
        accession = str(record.get("accession_number") or "").strip()
        try:
            if accession and accession in seen:
                first_source, first_line = seen[accession]
                where = "" if first_source == source.name else f" in {first_source}"
                raise RowRejected(f"duplicate accession number {accession!r} (first seen{where} on line {first_line})")
            prepared = prepare(record, source.image_dir)
            if accession:
                seen[accession] = (source.name, line)
            applied = apply(prepared, provenance=True, overwrite_edits=overwrite_edits)
        except (RowRejected, images.ImageRejected) as exc:
            result.rejected += 1
            result.errors.append(RowProblem(line, accession, str(exc)))
        except ValidationError as exc:
            result.rejected += 1
            reasons = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
            result.errors.append(RowProblem(line, accession, f"invalid value(s): {reasons}"))
        except Exception as exc:
            log.exception("unexpected error importing line %s of %s", line, source.name)
            result.rejected += 1
            result.errors.append(RowProblem(line, accession, f"unexpected error: {type(exc).__name__}: {exc}"))
        else:
            setattr(result, applied.outcome, getattr(result, applied.outcome) + 1)
            result.warnings.extend(RowProblem(line, accession, w) for w in prepared.warnings)
            result.conflicts.extend(RowProblem(line, accession, c) for c in applied.conflicts)
        if progress:
            progress(done, total)
        if stop and stop():
            break
    return result


class _JobReport:
    """An import's job: rows done over all files, at most twice a second, and the cancel checkpoint."""

    INTERVAL_S = 0.5

    def __init__(self, job: Job, total: int) -> None:
        self.job, self.before, self.last, self.checked = job, 0, 0.0, 0.0
        job.start(total=total, message=f"importing {total} records")

    def file(self, source: Source, inner: Progress | None) -> tuple[Progress, Callable[[], bool]]:
        before = self.before
        self.before += len(source.records)
        self.job.log(f"{source.name}: {len(source.records)} records")

        def progress(done: int, total: int) -> None:
            if inner:
                inner(done, total)
            now = time.monotonic()
            if done == total or now - self.last >= self.INTERVAL_S:
                self.last = now
                self.job.progress(before + done, message=f"{Path(source.name).name}: record {done} of {total}")

        def stop() -> bool:
            now = time.monotonic()
            if now - self.checked < self.INTERVAL_S:
                return False
            self.checked = now
            try:
                self.job.check_cancelled()
            except JobCancelled:
                return True
            return False

        return progress, stop

    def outcome(self, run: ImportRun, result: ImportResult) -> None:
        self.job.produced(run)
        for problem in result.errors[:500]:
            self.job.log(f"rejected {problem}", level=JobLog.Level.ERROR)
        for problem in result.conflicts[:500]:
            self.job.log(f"conflict {problem}", level=JobLog.Level.WARNING)
        for problem in result.warnings[:500]:
            self.job.log(f"warning {problem}", level=JobLog.Level.WARNING)
        self.job.log(f"{run.source}: {result.summary()}")


def import_collection(
    refs: list[str],
    *,
    image_dir: Path | None = None,
    mapping: dict[str, str] | None = None,
    encoding: str | None = None,
    progress_factory: Callable[[Source], Progress | None] | None = None,
    overwrite_edits: bool = False,
    job: Job | None = None,
) -> ImportResult:
    """Reads every input first, so a file that cannot be read raises ImportFileError before any row of any file.

    The run is a Job (``job``, or one made here) with a line per file and per rejected row, and the
    works it queues are a second job, their processing (collection.processing.burst). A curator's
    cancel stops it between two records; what was imported stays, and is counted in its ImportRun.
    """
    job = job or Job.objects.create(kind="import", target=", ".join(Path(r).name for r in refs)[:200])
    try:
        sources_read = [read_source(ref, image_dir=image_dir, mapping=mapping, encoding=encoding) for ref in refs]
    except Exception as exc:
        job.fail(f"{type(exc).__name__}: {exc}")
        raise
    report = _JobReport(job, sum(len(source.records) for source in sources_read))
    total = ImportResult()
    seen: dict[str, tuple[str, int]] = {}
    try:
        with processing.burst(Job.objects.create(kind="process", target=f"import #{job.pk}")):
            for ref, source in zip(refs, sources_read, strict=True):
                run = ImportRun.objects.create(source=ref[:1000])
                progress, stop = report.file(source, progress_factory(source) if progress_factory else None)
                result = import_records(source, progress, seen=seen, overwrite_edits=overwrite_edits, stop=stop)
                _save_run(run, result)
                report.outcome(run, result)
                _add(total, result)
                if job.status == Job.Status.CANCELLED:
                    job.log(f"stopped after {total.total} records", level=JobLog.Level.WARNING)
                    break
    except Exception as exc:
        job.fail(f"{type(exc).__name__}: {exc}")
        raise
    job.finish({"created": total.created, "updated": total.updated, "unchanged": total.unchanged,
                "rejected": total.rejected}, message=f"import finished: {total.summary()}")  # fmt: skip
    return total


def _save_run(run: ImportRun, result: ImportResult) -> None:
    run.created, run.updated, run.unchanged, run.rejected = (
        result.created,
        result.updated,
        result.unchanged,
        result.rejected,
    )
    run.errors = [str(e) for e in result.errors[:1000]]
    run.conflicts = [str(c) for c in result.conflicts[:1000]]
    run.finished = timezone.now()
    run.save()


def _add(total: ImportResult, result: ImportResult) -> None:
    for name in ("created", "updated", "unchanged", "rejected"):
        setattr(total, name, getattr(total, name) + getattr(result, name))
    total.errors.extend(result.errors)
    total.warnings.extend(result.warnings)
    total.conflicts.extend(result.conflicts)


def iter_lines(result: ImportResult) -> Iterator[str]:
    for problem in result.errors:
        yield f"rejected {problem}"
    for problem in result.conflicts:
        yield f"conflict {problem}"
    for problem in result.warnings:
        yield f"warning  {problem}"
