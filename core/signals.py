"""Signals that cross stages: sent by an earlier stage, received by later ones, so no stage imports a later one."""

from __future__ import annotations

from django.dispatch import Signal

# Sent when works are published or unpublished, one by one (a saved change of ``published``) or in
# bulk (queryset.update sends no post_save), with ``artwork_ids`` and ``image_ids``: the works whose
# publication changed and their pictures. Each stage re-files what it derived from them (derivatives,
# face crops, map atlases) in its own receiver, connected in its AppConfig.ready().
publication_changed = Signal()

# Sent with ``pk`` after the transaction that stored a work's new picture (upload, import, re-run)
# commits: the pipeline app's receiver sends the work to its first stage (pipeline.tasks). A receiver
# that cannot reach the task queue raises, and the sender records that on the work.
work_queued = Signal()
