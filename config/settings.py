"""Django settings, read from the environment only (see docs/configuration.md).

With nothing set the platform runs on its embedded default: SQLite, files on the
local disk under ./var, Celery tasks queued as files for one local worker. Setting
DATABASE_URL, CELERY_BROKER_URL and S3_BUCKET moves each part to a real service
without code changes.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from pathlib import Path

import dj_database_url

from config.env import (
    ImproperlyConfiguredEnv,
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_list,
    env_networks,
    env_str,
)
from config.storage_settings import local_storages, s3_storages

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var"))).resolve()

DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG and not env_bool("DJANGO_INSECURE_DEV_KEY", False):
        raise ImproperlyConfiguredEnv(
            "DJANGO_SECRET_KEY is not set. Set it (production) or set DJANGO_DEBUG=true or "
            "DJANGO_INSECURE_DEV_KEY=true for a local run."
        )
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "collection.apps.CuratorAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "core",
    "collection",
    "analysis",
    "maps",
    "pipeline",
    "frontend",
]

MIDDLEWARE = [
    # First of all: a body too large for its endpoint is refused by its declared length before anything reads it.
    "collection.middleware.BodyLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.RefuseNulMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "config.security.PrivateCacheMiddleware",
    "config.security.SiteCSPMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, so it turns a lockout raised anywhere in the login flow into its clear 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------
if not env_str("DATABASE_URL"):
    VAR_DIR.mkdir(parents=True, exist_ok=True)  # the embedded default keeps its SQLite file here
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web process and the embedded worker write the same file: WAL lets readers go on during a
    # write, and IMMEDIATE transactions wait for the lock (up to the timeout) instead of failing midway.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 30, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Languages --------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("nb", "Norsk bokmål")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static files and media -------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_URL = env_str("MEDIA_URL", "/media/")
MEDIA_ROOT = VAR_DIR / "media"

S3_BUCKET = env_str("S3_BUCKET")
S3_ENDPOINT_URL = env_str("S3_ENDPOINT_URL") or None
S3_REGION = env_str("S3_REGION", "us-east-1")
S3_ACCESS_KEY_ID = env_str("S3_ACCESS_KEY_ID") or None
S3_SECRET_ACCESS_KEY = env_str("S3_SECRET_ACCESS_KEY") or None
# Custom domain / CDN for derivatives; django-storages wants a host name, so a scheme is dropped.
S3_PUBLIC_URL = env_str("S3_PUBLIC_URL").removeprefix("https://").removeprefix("http://").rstrip("/") or None
SIGNED_URL_SECONDS = env_int("SIGNED_URL_SECONDS", 3600, minimum=60, maximum=7 * 24 * 3600)

_STATIC_BACKEND = (
    "django.contrib.staticfiles.storage.StaticFilesStorage"
    if DEBUG
    else "whitenoise.storage.CompressedManifestStaticFilesStorage"
)
if S3_BUCKET:
    STORAGES = s3_storages(
        bucket=S3_BUCKET,
        endpoint_url=S3_ENDPOINT_URL,
        region=S3_REGION,
        access_key=S3_ACCESS_KEY_ID,
        secret_key=S3_SECRET_ACCESS_KEY,
        public_url=S3_PUBLIC_URL,
        signed_seconds=SIGNED_URL_SECONDS,
        static_backend=_STATIC_BACKEND,
    )
else:
    STORAGES = local_storages(media_root=str(MEDIA_ROOT), media_url=MEDIA_URL, static_backend=_STATIC_BACKEND)
SERVE_MEDIA = env_bool("SERVE_MEDIA", not S3_BUCKET)

# --- Images -----------------------------------------------------------------
IMAGE_MAX_UPLOAD_BYTES = env_int("IMAGE_MAX_UPLOAD_BYTES", 50 * 1024 * 1024, minimum=1024)
# Pillow's decompression-bomb guard stays on; this is the pixel ceiling it enforces.
IMAGE_MAX_PIXELS = env_int("IMAGE_MAX_PIXELS", 120_000_000, minimum=1_000_000)
IMAGE_DERIVATIVE_FORMAT = env_choice("IMAGE_DERIVATIVE_FORMAT", "webp", ("webp", "jpeg"))
IMAGE_SIZES = {
    "thumb": env_int("IMAGE_THUMB_SIZE", 128, minimum=32, maximum=512),
    "medium": env_int("IMAGE_MEDIUM_SIZE", 640, minimum=128, maximum=2048),
    "large": env_int("IMAGE_LARGE_SIZE", 1600, minimum=256, maximum=4096),
}
IMAGE_FETCH_TIMEOUT = env_float("IMAGE_FETCH_TIMEOUT", 20.0, minimum=1.0, maximum=300.0)
# Import URLs may reach only public addresses; a deployment that imports from its own intranet names it here.
IMPORT_ALLOWED_NETWORKS = env_networks("IMPORT_ALLOWED_NETWORKS")
# Any other body (JSON, forms, the map's CSV export of up to 200,000 ids) is refused above this by its
# declared length before it is read (collection.middleware.BodyLimitMiddleware); image uploads have their own.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("REQUEST_MAX_BODY_BYTES", 2_621_440, minimum=1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Visitors' photos (search by image, by face): the models need a few hundred pixels, so a photo is refused
# above a small size, decoded reduced (JPEG draft), downscaled and re-encoded before it leaves the web process.
SEARCH_PHOTO_MAX_BYTES = env_int("SEARCH_PHOTO_MAX_BYTES", 15 * 1024 * 1024, minimum=1024)
SEARCH_PHOTO_MAX_PIXELS = env_int("SEARCH_PHOTO_MAX_PIXELS", 16_000_000, minimum=100_000)
SEARCH_PHOTO_SIDE = env_int("SEARCH_PHOTO_SIDE", 1024, minimum=256, maximum=4096)
SEARCH_PHOTO_DECODES = env_int("SEARCH_PHOTO_DECODES", 2, minimum=1, maximum=64)
SEARCH_PHOTO_WAIT_SECONDS = env_float("SEARCH_PHOTO_WAIT_SECONDS", 3.0, minimum=0.0, maximum=60.0)

# --- Celery -----------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", env_str("REDIS_URL"))
# No broker named means the embedded default: messages wait as files under $VAR_DIR/queue for the one
# worker `./run serve` starts beside the web server (config/worker.py), so no other service is needed.
EMBEDDED_QUEUE = not CELERY_BROKER_URL
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = env_bool("CELERY_TASK_EAGER_PROPAGATES", False)
QUEUE_DIR = VAR_DIR / "queue"
if EMBEDDED_QUEUE and CELERY_TASK_ALWAYS_EAGER:
    CELERY_BROKER_URL = "memory://"  # never contacted when eager; stops kombu guessing "localhost"
elif EMBEDDED_QUEUE:
    CELERY_BROKER_URL = "filesystem://"
    # Owner only, as the file cache's folder is: messages name visitors' search photos in the cache and
    # results/ holds their vectors; files inside are written under the umask, so the folders guard them.
    for _folder in ("messages", "processed", "control", "results"):
        (QUEUE_DIR / _folder).mkdir(mode=0o700, parents=True, exist_ok=True)
    for _path in (QUEUE_DIR, *(QUEUE_DIR / f for f in ("messages", "processed", "control", "results"))):
        with contextlib.suppress(PermissionError):  # another user's folder: left as its owner set it
            _path.chmod(0o700)
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", env_str("REDIS_URL")) or (
    f"file://{QUEUE_DIR / 'results'}" if EMBEDDED_QUEUE and not CELERY_TASK_ALWAYS_EAGER else None
)
# Only search by image reads a result (its tasks ask for one); the file backend would keep every other.
CELERY_TASK_IGNORE_RESULT = CELERY_RESULT_BACKEND is not None and CELERY_RESULT_BACKEND.startswith("file://")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# Redis keeps a delivered, unacknowledged message aside; if its worker dies, the message goes back on
# the queue after this many seconds. It must exceed the longest task (a map build), or a running task
# would be delivered a second time.
CELERY_VISIBILITY_TIMEOUT = env_int("CELERY_VISIBILITY_TIMEOUT", 6 * 3600, minimum=1)
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
if CELERY_BROKER_URL == "filesystem://":
    # One folder both ways: the web process writes a message file, the worker moves it out and reads it.
    CELERY_BROKER_TRANSPORT_OPTIONS |= {
        "data_folder_in": str(QUEUE_DIR / "messages"),
        "data_folder_out": str(QUEUE_DIR / "messages"),
        "processed_folder": str(QUEUE_DIR / "processed"),  # same disk as messages/, so the move is a rename
        "control_folder": str(QUEUE_DIR / "control"),
    }
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    # Moving files needs no model: it stays on the default queue (routes match in order).
    "analysis.tasks.sync_face_crops": {"queue": "default"},
    "analysis.tasks.*": {"queue": "gpu"},
    # A work's stages: one task per queue (pipeline.tasks).
    "pipeline.tasks.process_artwork": {"queue": "default"},
    "pipeline.tasks.analyse_artwork": {"queue": "gpu"},
    "collection.tasks.process_artwork": {"queue": "default"},  # names queued before an upgrade (pipeline.tasks)
    "mlserver.tasks.analyse_artwork": {"queue": "gpu"},
    "maps.tasks.build_map": {"queue": "gpu"},
    "maps.tasks.make_build_live": {"queue": "gpu"},  # places the works that arrived since, with the build's network
    # The same tasks under their names before the packages were renamed (core.tasknames): a retry of a
    # message queued by the earlier release goes where the task now goes.
    "mlserver.tasks.sync_face_crops": {"queue": "default"},
    "mlserver.tasks.*": {"queue": "gpu"},
    "embeddings.tasks.build_map": {"queue": "gpu"},
    "embeddings.tasks.make_build_live": {"queue": "gpu"},
}
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- Machine learning -------------------------------------------------------
FEATURE_BACKBONE = env_str("FEATURE_BACKBONE", "tf_efficientnet_lite0")
FEATURE_WEIGHTS = env_choice("FEATURE_WEIGHTS", "offline", ("offline", "hub", "checkpoint", "none"))
FEATURE_CHECKPOINT = env_str("FEATURE_CHECKPOINT")
# Training from the admin (analysis.training_sets): the largest zip a curator may upload, and the one folder on
# the worker under which the admin may point at a labelled set ("" switches server folders off).
TRAINING_UPLOAD_MAX_BYTES = env_int("TRAINING_UPLOAD_MAX_BYTES", 50 * 1024 * 1024, minimum=1024)
TRAINING_SETS_ROOT = env_str("TRAINING_SETS_ROOT")
# 0: the measured default for the device (small batches on CPU, large on CUDA; see analysis/extract/).
FEATURE_BATCH_SIZE = env_int("FEATURE_BATCH_SIZE", 0, minimum=0, maximum=1024)
FEATURE_LOADER_WORKERS = env_int("FEATURE_LOADER_WORKERS", 2, minimum=0, maximum=64)
ML_DEVICE = env_str("ML_DEVICE", "auto")

# --- API --------------------------------------------------------------------
# Behind a reverse proxy every request comes from the proxy's address: the client's own address is
# then the one the proxies append to X-Forwarded-For, and throttles must read it there, or every
# visitor shares one address and one client can rate-limit everyone.
BEHIND_PROXY = env_bool("DJANGO_BEHIND_PROXY", False)
NUM_PROXIES = env_int("DJANGO_NUM_PROXIES", 1 if BEHIND_PROXY else 0, minimum=0, maximum=10)
if BEHIND_PROXY and NUM_PROXIES == 0:
    raise ImproperlyConfiguredEnv(
        "DJANGO_BEHIND_PROXY=true with DJANGO_NUM_PROXIES=0: behind a proxy every visitor would share the "
        "proxy's address for rate limits; set DJANGO_NUM_PROXIES to the number of proxies in front of the site"
    )

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "collection.api.schema.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "collection.api.auth.PartnerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["collection.api.auth.ReadPublishedOrWrite"],
    "DEFAULT_THROTTLE_CLASSES": [
        "collection.api.auth.AnonThrottle",
        "collection.api.auth.PartnerTokenThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_str("API_ANON_RATE", "120/minute"),
        "token": env_str("API_TOKEN_RATE", "1000/minute"),
    },
    "DEFAULT_PAGINATION_CLASS": "collection.api.pagination.Pagination",
    "PAGE_SIZE": env_int("API_PAGE_SIZE", 50, minimum=1, maximum=1000),
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "EXCEPTION_HANDLER": "collection.api.errors.exception_handler",
    # Trust X-Forwarded-For only for this many proxies, so clients cannot dodge the anonymous rate limit.
    "NUM_PROXIES": NUM_PROXIES,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Museum collection map API",
    "DESCRIPTION": "Artworks, their images, similar works and maps of the collection.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI served by the platform itself, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}
# The map page asks for work details in many small batches while a visitor pans, so it has its own limit.
API_MAP_RATE = env_str("API_MAP_RATE", "3000/minute")
# Searches run over the whole collection (text, filters) or need a model pass (photos): narrower limits.
API_SEARCH_RATE = env_str("API_SEARCH_RATE", "60/minute")
API_PHOTO_SEARCH_RATE = env_str("API_PHOTO_SEARCH_RATE", "10/minute")
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS")
CORS_URLS_REGEX = r"^/api/.*$"

# Heroku-style REDIS_URL serves as the default for the cache, broker and result backend.
REDIS_URL = env_str("REDIS_URL")
CACHE_URL = env_str("CACHE_URL", REDIS_URL)
if CACHE_URL and not CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
    raise ImproperlyConfiguredEnv(f"CACHE_URL={CACHE_URL!r} must be a redis:// URL (or unset for a per-process cache)")
if not EMBEDDED_QUEUE and not CELERY_TASK_ALWAYS_EAGER and not CACHE_URL:
    # Visitors' search photos reach the worker through the cache (analysis.client), and worker verdicts
    # come back through it: a per-process cache would leave every search by image to time out.
    raise ImproperlyConfiguredEnv(
        "CELERY_BROKER_URL is set but CACHE_URL (or REDIS_URL) is not: the web process and the workers "
        "must share a redis:// cache"
    )
# Without Redis the web process and the embedded worker share a cache on disk: the index stamp, the
# search photos' claim checks and the once-per-burst refresh marks must be seen by both.
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
        if CACHE_URL
        else {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
            "OPTIONS": {"MAX_ENTRIES": 10_000},
        }
    )
}

# --- Security ---------------------------------------------------------------
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", not DEBUG and env_bool("DJANGO_HTTPS", False))
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env_bool("DJANGO_HTTPS", False)
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_PROXY else None
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): scripts, styles and everything else from this site only; the
# media origins (S3 endpoint, CDN) are added per request by config.security.SiteCSPMiddleware.
# Inline style attributes stay allowed: the admin's thumbnails, DRF's browsable API and Swagger UI
# use them, and they cannot run script. Inline <script> and <style> elements are refused.
CSP_EXTRA_MEDIA_ORIGINS = env_list("CSP_EXTRA_MEDIA_ORIGINS")
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "style-src-attr": ["'unsafe-inline'"],
        # data: for the empty favicon and the admin's inline icons; blob: for decoded pictures.
        "img-src": ["'self'", "data:", "blob:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
# Login throttling (django-axes): a username is locked out from one client address after this many
# failed passwords, for AXES_COOLOFF_TIME hours; other addresses and other users are unaffected.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1, maximum=100)
_AXES_COOLOFF_MINUTES = env_int("AXES_COOLOFF_MINUTES", 15, minimum=1, maximum=30 * 24 * 60)
AXES_COOLOFF_TIME = timedelta(minutes=_AXES_COOLOFF_MINUTES)
AXES_COOLOFF_MESSAGE = (
    f"Too many failed logins for this account from your address: try again in {_AXES_COOLOFF_MINUTES} "
    "minutes, or ask another administrator to unlock it (python manage.py axes_reset_username NAME)."
)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False  # no start-up banner on every manage.py command; lockouts are still logged
AXES_CLIENT_IP_CALLABLE = "config.security.client_ip"
FORMS_URLFIELD_ASSUME_HTTPS = True
CURATORS_GROUP = "curators"
# SQLite cannot enforce NULLS NOT DISTINCT; artists are created through get_or_create, PostgreSQL enforces it.
SILENCED_SYSTEM_CHECKS = ["models.W047"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO").upper()},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # One line per task drowns the import progress bar in the eager default.
        "celery.app.trace": {"level": env_str("CELERY_TRACE_LOG_LEVEL", "WARNING").upper()},
    },
}

# Stages after image derivatives (features, map placement, objects, faces) run on the ML worker.
ML_ENABLED = env_bool("ML_ENABLED", True)
MAP_BUILD_THREADS = env_int("MAP_BUILD_THREADS", 2, minimum=1, maximum=256)
MAP_BUILDS_KEPT = env_int("MAP_BUILDS_KEPT", 2, minimum=1, maximum=100)
DECADE_MIN_WORKS = env_int("DECADE_MIN_WORKS", 5, minimum=1)
DECADE_TOP_N = env_int("DECADE_TOP_N", 5, minimum=1, maximum=50)
SEARCH_TIMEOUT_SECONDS = env_float("SEARCH_TIMEOUT_SECONDS", 20.0, minimum=1.0, maximum=300.0)

# --- Objects and faces ------------------------------------------------------
# "off" switches detection off; "auto" uses Detectron2 when installed with weights, else torchvision.
DETECTION_BACKEND = env_choice("DETECTION_BACKEND", "auto", ("auto", "torchvision", "detectron2", "off"))
DETECTION_WEIGHTS = env_str("DETECTION_WEIGHTS")
DETECTION_ALLOW_DOWNLOAD = env_bool("DETECTION_ALLOW_DOWNLOAD", False)
# Tests only: random weights exercise the plumbing; their detections are stored untrusted and never shown.
DETECTION_RANDOM_WEIGHTS = env_bool("DETECTION_RANDOM_WEIGHTS", False)
DETECTION_SCORE_THRESHOLD = env_float("DETECTION_SCORE_THRESHOLD", 0.5, minimum=0.0, maximum=1.0)
FACES_ENABLED = env_bool("FACES_ENABLED", True)
FACE_DETECTOR = env_choice("FACE_DETECTOR", "hog", ("hog", "cnn"))
FACE_UPSAMPLE = env_int("FACE_UPSAMPLE", 1, minimum=0, maximum=3)
