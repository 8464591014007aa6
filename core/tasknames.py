"""Task names that survive the rename of a stage's package.

Celery names a task after its module, and a message in the broker names the task it is for. The
``analysis`` and ``maps`` packages were called ``mlserver`` and ``embeddings`` before; messages
queued by the earlier release (a map build, a bulk re-embedding, a retry waiting in its countdown)
would be dropped by an upgraded worker as unknown tasks. :func:`task` registers each task under
both names, so they run the same function instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from celery import shared_task

# package now -> the package's name in earlier releases
RENAMED_PACKAGES = {"analysis": "mlserver", "maps": "embeddings"}


def old_name(module: str, function: str) -> str | None:
    """The name the earlier release gave the task, or None when its package was not renamed."""
    package, _, rest = module.partition(".")
    if package not in RENAMED_PACKAGES:
        return None
    return f"{RENAMED_PACKAGES[package]}.{rest}.{function}"


def task(**options: Any) -> Callable[[Callable[..., Any]], Any]:
    """``shared_task(**options)``, also registered under the task's name before the rename."""

    def decorate(fun: Callable[..., Any]) -> Any:
        earlier = old_name(fun.__module__, fun.__name__)
        if earlier is not None:
            shared_task(name=earlier, **options)(fun)
        return shared_task(**options)(fun)

    return decorate
