"""Items -> decoded, stacked batches: the dataset the DataLoader workers read, and the decode thread pool."""

from __future__ import annotations

import collections
import functools
import os
import threading
from collections.abc import Callable, Hashable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import torch
from PIL import Image
from torch.utils.data import Dataset

from analysis.extract.decode import Item, decode_image
from analysis.extract.inputs import PreparedInput, _load, prepared_tensor


class ImageItemsDataset(Dataset):
    """Map-style dataset over ``(key, data)`` pairs decoded lazily inside workers.

    ``data`` is bytes, a path, a binary file object, a PIL image, or a zero-argument
    callable returning one of those (so storage reads also happen in the workers). Failures
    are returned, not raised, so the batch survives.
    """

    def __init__(
        self,
        items: Sequence[Item],
        transform: Callable[[Image.Image], torch.Tensor],
        draft_size: int | None = None,
    ) -> None:
        self.items = items
        self.transform = transform
        self.draft_size = draft_size

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> tuple[Hashable, torch.Tensor | None, str | None]:
        key, data = self.items[index]
        try:
            if isinstance(data, PreparedInput):
                return key, prepared_tensor(data, self.transform, self.draft_size), None
            image = decode_image(_load(data), self.draft_size)
            return key, self.transform(image), None
        except Exception as exc:  # noqa: BLE001 - any failure is reported per item
            return key, None, f"{type(exc).__name__}: {exc}"


def collate_items(
    batch: list[tuple[Hashable, torch.Tensor | None, str | None]],
) -> tuple[list[Hashable], torch.Tensor | None, dict[Hashable, str]]:
    """Stack the decodable items, keep the failures aside (module-level so workers can pickle it)."""
    keys = [key for key, tensor, _ in batch if tensor is not None]
    tensors = [tensor for _, tensor, _ in batch if tensor is not None]
    errors = {key: err or "" for key, tensor, err in batch if tensor is None}  # an unread item always has a message
    return keys, (torch.stack(tensors) if tensors else None), errors


def _worker_init(_: int) -> None:
    # Each worker decodes one image at a time; letting it spawn a torch thread pool
    # per worker would oversubscribe the cores the model needs.
    torch.set_num_threads(1)


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - non-Linux
        return os.cpu_count() or 1


def _default_num_workers(loader: str, on_gpu: bool) -> int:
    """Threads: all cores (decode and model take turns). Processes: leave cores to the model on CPU."""
    cores = _cores()
    if loader == "threads":
        return cores
    return max(1, cores - 1) if on_gpu else max(1, cores // 2)


def _renice_current_thread(increment: int) -> None:
    """Lower this thread's scheduling priority (Linux: a thread id is a valid PRIO_PROCESS target)."""
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + increment))
    except (AttributeError, OSError):  # pragma: no cover - non-Linux, or not permitted
        pass


def _thread_batches(
    dataset: ImageItemsDataset,
    batch_size: int,
    num_workers: int,
    overlap: bool = False,
    prefetch: int = 1,
    nice: int = 0,
) -> Iterator[tuple[list[Hashable], torch.Tensor | None, dict[Hashable, str]]]:
    """Decode batches with a thread pool.

    Without ``overlap`` each batch is decoded while the caller waits (phased).
    With it, up to ``prefetch`` further batches decode while the caller
    computes; ``nice`` lowers the decode threads' priority so that they mostly
    run in the cycles the model leaves idle instead of preempting it.
    """
    batches = [range(i, min(i + batch_size, len(dataset))) for i in range(0, len(dataset), batch_size)]
    if num_workers == 0:
        for batch in batches:
            yield collate_items([dataset[i] for i in batch])
        return
    depth = 1 + (max(1, prefetch) if overlap else 0)
    initializer = functools.partial(_renice_current_thread, nice) if nice else None
    with ThreadPoolExecutor(max_workers=num_workers, thread_name_prefix="decode", initializer=initializer) as pool:
        pending: collections.deque[list[Future]] = collections.deque()
        for batch in batches:
            pending.append([pool.submit(dataset.__getitem__, i) for i in batch])
            if len(pending) >= depth:
                yield collate_items([f.result() for f in pending.popleft()])
        while pending:
            yield collate_items([f.result() for f in pending.popleft()])
