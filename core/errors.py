"""Errors every stage classifies: here so that the retry policy (core.retry) can name them without importing a stage."""

from __future__ import annotations


class StorageUnavailable(RuntimeError):
    """Object storage did not answer: a transient error worth retrying."""
