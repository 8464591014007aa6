"""The Celery app. Queues: ``default`` for web-side work, ``gpu`` for every ML task.

With no CELERY_BROKER_URL the settings make tasks run eagerly in-process (the
embedded default), so one command can import, process and serve the demo.
"""

from __future__ import annotations

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("museum")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = (Queue("default"), Queue("gpu"))
app.autodiscover_tasks()
