"""Settings for the Sistema da Clínica.

Everything comes from the environment (see clinic_app/README.md). With no
environment variables set this module imports with safe development/test
defaults: DEBUG off, SQLite under ``<repo>/.local/data``, an insecure secret key
that is refused in production.
"""

from __future__ import annotations

import os
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from registry import photo_contract

from clinic import envvars as E

BASE_DIR = Path(__file__).resolve().parent.parent  # clinic_app/
REPO_DIR = BASE_DIR.parent


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def env_bool(name: str, default: bool) -> bool:
    """Unset or empty -> default; a value outside _TRUE/_FALSE is an error
    ("ture" must not silently mean False)."""
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    word = value.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean: use one of 1/0, true/false, yes/no, on/off.")


def env_number(name: str, default: float, kind: type = int, *, minimum: float = 0, above: bool = False):
    """Unset or empty -> default; anything that is not a ``kind`` at or above
    ``minimum`` (strictly above with ``above``) is an error naming the variable."""
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        number = kind(value.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not {'an integer' if kind is int else 'a number'}.") from None
    if number != number or number in (float("inf"), float("-inf")) or number < minimum or (above and number == minimum):
        raise ImproperlyConfigured(f"{name}={value!r} must be {'above' if above else 'at least'} {minimum}.")
    return number


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return list(default or [])
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool(E.DEBUG, False)
HTTPS = env_bool(E.HTTPS, True)

# Under pytest (or manage.py test) an insecure key is acceptable.
_TESTING = "pytest" in sys.modules or (len(sys.argv) > 1 and sys.argv[1] == "test")
_INSECURE_KEY = "django-insecure-dev-only-key-do-not-use-in-production"
SECRET_KEY = os.environ.get(E.SECRET_KEY, "")
if not SECRET_KEY:
    if DEBUG or _TESTING or env_bool(E.ALLOW_INSECURE_KEY, False):
        SECRET_KEY = _INSECURE_KEY
    else:
        raise ImproperlyConfigured(
            f"{E.SECRET_KEY} must be set when {E.DEBUG} is off "
            f"(set {E.DEBUG}=1 or {E.ALLOW_INSECURE_KEY}=1 for local development only)."
        )

ALLOWED_HOSTS = env_list(E.ALLOWED_HOSTS, ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list(E.CSRF_TRUSTED_ORIGINS, [])

DATA_DIR = Path(os.environ.get(E.DATA_DIR) or (REPO_DIR / ".local" / "data"))
STATIC_ROOT = Path(os.environ.get(E.STATIC_ROOT) or (REPO_DIR / ".local" / "static"))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",
    "registry",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "clinic.middleware.ContentSecurityPolicyMiddleware",
    "clinic.middleware.NoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "clinic.middleware.CurrentUserMiddleware",
    "clinic.middleware.PasswordChangeRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "clinic.middleware.LoginRequiredMiddleware",
    # last: turns a locked-out sign-in (app form or /admin/login/) into the lockout page
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "clinic.urls"
WSGI_APPLICATION = "clinic.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "registry.context_processors.roles",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
DATABASE_URL = os.environ.get(E.DATABASE_URL, "").strip()
if DATABASE_URL:
    import dj_database_url

    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
    if os.environ.get(E.DB_SECRET_ID):
        # Mode ha: the password comes from the rotating RDS secret at connect time.
        DATABASES["default"]["ENGINE"] = "clinic.pg_secret"
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "db" / "clinic.sqlite3",
            "OPTIONS": {
                # Django 5.1+: PRAGMAs run on every new connection.
                "init_command": (
                    "PRAGMA journal_mode=WAL;"
                    "PRAGMA synchronous=NORMAL;"
                    "PRAGMA foreign_keys=ON;"
                    "PRAGMA busy_timeout=5000;"
                    "PRAGMA cache_size=-20000;"
                    "PRAGMA temp_store=MEMORY;"
                ),
                "transaction_mode": "IMMEDIATE",
            },
            # Tests use a file too, not shared-cache memory: concurrency tests
            # need SQLite's real locking (busy_timeout, WAL), as in production.
            "TEST": {"NAME": os.path.join(tempfile.gettempdir(), f"clinic-test-{os.getpid()}.sqlite3")},
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth -------------------------------------------------------------------
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
CSRF_FAILURE_VIEW = "registry.views.csrf_failure"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "animal_list"
LOGOUT_REDIRECT_URL = "login"

# Sign-in limiting: django-axes hooks authenticate() itself, so the app's form
# and /admin/login/ share one limiter (registry.auth adds atomic admission and a
# per-address limit across usernames).
AUTHENTICATION_BACKENDS = [
    "registry.auth.ClinicAxesBackend",  # axes.backends.AxesStandaloneBackend
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_MAX_FAILURES = env_number(E.LOGIN_MAX_FAILURES, 5, minimum=1)
LOGIN_MAX_FAILURES_PER_ADDRESS = env_number(E.LOGIN_MAX_FAILURES_PER_ADDRESS, 20, minimum=1)
LOGIN_LOCKOUT_SECONDS = env_number(E.LOGIN_LOCKOUT_SECONDS, 900, minimum=1)
AXES_HANDLER = "registry.auth.ClinicAxesHandler"
AXES_FAILURE_LIMIT = LOGIN_MAX_FAILURES
AXES_COOLOFF_TIME = timedelta(seconds=LOGIN_LOCKOUT_SECONDS)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "registry.auth.client_ip"
AXES_USERNAME_CALLABLE = "registry.auth.normalise_username"
AXES_LOCKOUT_CALLABLE = "registry.auth.lockout_response"
AXES_RESET_ON_SUCCESS = False  # registry.auth forgives only the signed-in username's failures
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_SENSITIVE_PARAMETERS = ["password", "csrfmiddlewaretoken"]
AXES_VERBOSE = False
# a refused attempt does not push the lock further out (and is not counted twice)
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "clinic",
    }
}

# Database sessions (not cached_db: the cache is per gunicorn worker, so a
# sign-out would not reach the other workers' cached copies).
SESSION_COOKIE_AGE = 60 * 60 * 12
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# --- i18n -------------------------------------------------------------------
LANGUAGE_CODE = "pt-br"
LANGUAGES = [("pt-br", "Português (Brasil)")]
TIME_ZONE = "America/Sao_Paulo"
USE_I18N = True
USE_TZ = True
DATE_INPUT_FORMATS = ["%d/%m/%Y", "%Y-%m-%d"]

# --- Static -----------------------------------------------------------------
STATIC_URL = "/static/"
# On EC2 nginx serves STATIC_ROOT (after `manage.py collectstatic`). The local
# run without nginx sets CLINIC_SERVE_STATIC=1 and Django serves the app's files.
SERVE_STATIC = env_bool(E.SERVE_STATIC, DEBUG)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or _TESTING
            else "clinic.storage.StaticStorage"
        )
    },
}

# --- Photos / S3 ------------------------------------------------------------
PHOTO_BUCKET = os.environ.get(E.PHOTO_BUCKET, "clinic-photos-local")
AWS_REGION = os.environ.get(E.AWS_REGION) or os.environ.get(E.AWS_DEFAULT_REGION) or "us-east-1"
AWS_ENDPOINT_URL = os.environ.get(E.AWS_ENDPOINT_URL, "").strip() or None
PHOTO_MAX_BYTES = photo_contract.MAX_BYTES  # the same limit as the processor
PHOTO_UPLOAD_EXPIRES = 300  # seconds; presigned POST
PHOTO_URL_EXPIRES = 600  # seconds; presigned GET for renditions
PHOTO_PENDING_TIMEOUT = 600  # seconds after which a pending photo is shown as failed
# Every S3 call on a request path: short timeouts, no retries, and a breaker
# that fails fast for a while after S3 did not answer (registry.s3).
S3_CONNECT_TIMEOUT = env_number(E.S3_CONNECT_TIMEOUT, 1.0, float, above=True)
S3_READ_TIMEOUT = env_number(E.S3_READ_TIMEOUT, 2.0, float, above=True)
S3_BREAKER_SECONDS = env_number(E.S3_BREAKER_SECONDS, 15.0, float, above=True)
# Photo deletion outbox (registry.outbox): keep sweeping a deleted photo's
# prefixes until no processor can still write there. The processor skips an
# original that is gone, so only an invocation that already read it can write
# after the delete: Lambda's maximum timeout (900 s, also the highest
# processor_timeout_seconds stacks/config.py accepts) plus a margin.
PHOTO_DELETE_SETTLE_SECONDS = env_number(E.PHOTO_DELETE_SETTLE_SECONDS, 900 + 300)
# Each app process sweeps the deletion outbox in a daemon thread (clinic/wsgi.py);
# off when something else sweeps it (a timer). Strict: "ture" is an error.
OUTBOX_THREAD = env_bool(E.OUTBOX_THREAD, True)


def _s3_origins() -> list[str]:
    if AWS_ENDPOINT_URL:
        from urllib.parse import urlsplit

        parts = urlsplit(AWS_ENDPOINT_URL)
        origins = [f"{parts.scheme}://{parts.netloc}"]
        # virtual-hosted style against a custom endpoint
        origins.append(f"{parts.scheme}://{PHOTO_BUCKET}.{parts.netloc}")
        return origins
    return [
        f"https://{PHOTO_BUCKET}.s3.amazonaws.com",
        f"https://{PHOTO_BUCKET}.s3.{AWS_REGION}.amazonaws.com",
    ]


S3_ORIGINS = _s3_origins()

_s3 = " ".join(S3_ORIGINS)
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; "
    f"img-src 'self' data: {_s3}; "
    f"connect-src 'self' {_s3}; "
    f"form-action 'self' {_s3}; "
    "frame-ancestors 'none'; object-src 'none'; base-uri 'self'"
)

# --- Security ---------------------------------------------------------------
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # the upload JS reads the token from the form, not the cookie
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

if HTTPS and not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = False

# HSTS preload is a commitment for the whole registrable domain; the clinic's
# domain owner decides that, not the app.
SILENCED_SYSTEM_CHECKS = ["security.W021"]

# --- Logging ----------------------------------------------------------------
LOG_DIR = DATA_DIR / "logs"
_handlers = {
    "console": {"class": "logging.StreamHandler", "formatter": "plain"},
}
_root_handlers = ["console"]
try:
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    (DATA_DIR / "db").mkdir(parents=True, exist_ok=True)
except OSError:  # read-only or foreign data dir: console only
    pass
_log_file = LOG_DIR / "clinic.log"
if os.access(LOG_DIR, os.W_OK) and (not _log_file.exists() or os.access(_log_file, os.W_OK)):
    _handlers["file"] = {
        "class": "logging.handlers.WatchedFileHandler",  # logrotate-friendly
        "filename": str(_log_file),
        "formatter": "plain",
    }
    _root_handlers.append("file")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": _handlers,
    "root": {"handlers": _root_handlers, "level": "INFO"},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Request logs can contain query strings (search terms = personal data).
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "WARNING"},
        "botocore": {"level": "WARNING"},
        # axes logs usernames and addresses (personal data); the audit trail has them.
        "axes": {"level": "ERROR"},
        "boto3": {"level": "WARNING"},
    },
}
