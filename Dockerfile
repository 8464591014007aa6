# Two images from one file (see docs/deploy.md):
#   docker build --target web    -t museum-web .      # gunicorn, no torch
#   docker build --target worker -t museum-worker .   # celery, with torch/timm
# Optional Detectron2 in the worker (object detection): --build-arg WITH_DETECTRON2=1

FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VAR_DIR=/app/var
RUN groupadd --system --gid 1000 app \
    && useradd --system --uid 1000 --gid app --home-dir /home/app --create-home app
WORKDIR /app
COPY requirements-web.txt ./
RUN pip install -r requirements-web.txt


# --- web: site, admin and API under gunicorn ----------------------------------
FROM base AS web
COPY --chown=app:app . .
# Static files are collected into the image (WhiteNoise serves them). The secret is a
# throw-away used only for this command; the real one comes from the environment at run time.
RUN DJANGO_SECRET_KEY=collectstatic-only-not-a-secret python manage.py collectstatic --no-input -v0 \
    && chown -R app:app /app/var
USER app
ENV PORT=8000
EXPOSE 8000
# Shell form so that $PORT (set by Heroku and most platforms) is expanded; gunicorn reads
# WEB_CONCURRENCY for its number of worker processes.
CMD ["sh", "-c", "exec gunicorn config.wsgi --bind 0.0.0.0:${PORT} --access-logfile -"]


# --- worker: Celery with the ML stack ---------------------------------------------
FROM base AS worker
COPY requirements.txt ./
RUN pip install -r requirements.txt

# Optional: Detectron2 for object detection. It is not on PyPI, so it is built from source,
# which needs git and a C/C++ compiler, and torch already installed (hence
# --no-build-isolation). Without a CUDA toolkit in the image its own operators are built for
# CPU only. No detector weights are in the image (neither Detectron2's nor torchvision's):
# object detection stays off until DETECTION_WEIGHTS points to a downloaded file, or
# DETECTION_ALLOW_DOWNLOAD=true lets the worker fetch one (see docs/deploy.md "Object detection").
# Pin DETECTRON2_REF to a commit that builds against our torch version.
ARG WITH_DETECTRON2=0
ARG DETECTRON2_REF=main
RUN if [ "$WITH_DETECTRON2" = "1" ]; then \
        apt-get update \
        && apt-get install -y --no-install-recommends git build-essential \
        && pip install --no-build-isolation "git+https://github.com/facebookresearch/detectron2.git@${DETECTRON2_REF}" \
        && rm -rf /var/lib/apt/lists/*; \
    fi

COPY --chown=app:app . .
RUN mkdir -p /app/var && chown app:app /app/var
USER app
# One container for both queues. For separate workers, override the command:
#   celery -A config worker -Q default --concurrency 4
#   celery -A config worker -Q gpu --concurrency 1
CMD ["celery", "-A", "config", "worker", "-Q", "default,gpu", "--concurrency", "1", "--loglevel", "INFO"]
