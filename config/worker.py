"""The embedded default's one background worker (``./run serve`` starts it beside the web server).

Without a broker the queue is a folder (config/settings.py, kombu's ``filesystem://``), and this one
process consumes both queues one task at a time, so a laptop needs no Redis and no second terminal,
yet the web process never runs a task: an upload returns at once and the model loads here.
Deployments with a broker run their own workers per queue (docs/deploy.md).
"""

from __future__ import annotations

import sys

# No remote-control gossip, sync or heartbeats: there is no other worker to talk to, and the
# file transport would poll for them.
ARGV = [
    "worker",
    "--queues",
    "default,gpu",
    "--concurrency",
    "1",
    "--without-gossip",
    "--without-mingle",
    "--without-heartbeat",
    "--loglevel",
    "INFO",
]


def main(extra: list[str]) -> None:
    from config.celery import app

    app.worker_main([*ARGV, *extra])


if __name__ == "__main__":
    main(sys.argv[1:])
