"""Test settings: the production settings module, pointed at the real local services.

Tests run against PostgreSQL, Redis and a local S3 endpoint (started by
tests/conftest.py), as the developers' guide asks. Every value can still be
overridden from the environment.
"""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/museum")
os.environ.setdefault("CACHE_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("DJANGO_INSECURE_DEV_KEY", "true")
os.environ.setdefault("ML_ENABLED", "false")
os.environ.setdefault("VAR_DIR", "/tmp/museum-test-var")

from config.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405 - WhiteNoise warns on every request otherwise
