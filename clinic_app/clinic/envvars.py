"""The clinic app's environment variables, named once.

Nothing else spells them (tests/userdata/test_stack_instance_contract.py scans
clinic_app/, local/, scripts/, lambda_src/, stacks/ and ec2_userdata/ for
DJANGO_*/CLINIC_* literals): Python imports this module, on the instance too
(the backup tool and gunicorn.conf.py run in the app's venv, which has the
wheel). Settings (clinic/settings.py) read these names; the instance's installer
(ec2_userdata/install_clinic.sh, shell: it cannot import this) writes
``INSTANCE`` into /etc/clinic/clinic.env; the local runner (local/env.py) sets
``LOCAL``. tests/userdata/test_stack_instance_contract.py checks all three
against this module, so a renamed or misspelt variable fails a test instead of
silently falling back to a default.
"""

from __future__ import annotations

# --- Django --------------------------------------------------------------------
SETTINGS_MODULE = "DJANGO_SETTINGS_MODULE"
SECRET_KEY = "DJANGO_SECRET_KEY"
DEBUG = "DJANGO_DEBUG"  # boolean: 1/0, true/false, yes/no, on/off; anything else is an error
ALLOWED_HOSTS = "DJANGO_ALLOWED_HOSTS"  # comma-separated
CSRF_TRUSTED_ORIGINS = "DJANGO_CSRF_TRUSTED_ORIGINS"  # comma-separated

# --- the clinic ------------------------------------------------------------------
HTTPS = "CLINIC_HTTPS"  # boolean
ALLOW_INSECURE_KEY = "CLINIC_ALLOW_INSECURE_KEY"  # boolean, local development only
DATA_DIR = "CLINIC_DATA_DIR"
STATIC_ROOT = "CLINIC_STATIC_ROOT"
SERVE_STATIC = "CLINIC_SERVE_STATIC"  # boolean
PHOTO_BUCKET = "CLINIC_PHOTO_BUCKET"
BACKUP_BUCKET = "CLINIC_BACKUP_BUCKET"  # read by ec2_userdata/clinic_dbbackup.py
BACKUP_PREFIX = "CLINIC_BACKUP_PREFIX"  # read by ec2_userdata/clinic_dbbackup.py
ADMIN_SECRET_ID = "CLINIC_ADMIN_SECRET_ID"
ADMIN_USERNAME = "CLINIC_ADMIN_USERNAME"
ADMIN_EMAIL = "CLINIC_ADMIN_EMAIL"
ADMIN_PASSWORD = "CLINIC_ADMIN_PASSWORD"
DATABASE_URL = "DATABASE_URL"  # mode ha
DB_SECRET_ID = "CLINIC_DB_SECRET_ID"  # mode ha: the rotating RDS secret
LOGIN_MAX_FAILURES = "CLINIC_LOGIN_MAX_FAILURES"  # integer >= 1
LOGIN_MAX_FAILURES_PER_ADDRESS = "CLINIC_LOGIN_MAX_FAILURES_PER_ADDRESS"  # integer >= 1
LOGIN_LOCKOUT_SECONDS = "CLINIC_LOGIN_LOCKOUT_SECONDS"  # integer >= 1
S3_CONNECT_TIMEOUT = "CLINIC_S3_CONNECT_TIMEOUT"  # seconds, > 0
S3_READ_TIMEOUT = "CLINIC_S3_READ_TIMEOUT"  # seconds, > 0
S3_BREAKER_SECONDS = "CLINIC_S3_BREAKER_SECONDS"  # seconds, > 0
PHOTO_DELETE_SETTLE_SECONDS = "CLINIC_PHOTO_DELETE_SETTLE_SECONDS"  # integer >= 0
OUTBOX_THREAD = "CLINIC_OUTBOX_THREAD"  # boolean (default on): the outbox thread in each app process (clinic/wsgi.py)
GUNICORN_BIND = "CLINIC_GUNICORN_BIND"  # ec2_userdata/templates/gunicorn.conf.py (default: the unix socket)
GUNICORN_WORKERS = "CLINIC_GUNICORN_WORKERS"  # integer, ec2_userdata/templates/gunicorn.conf.py

# --- AWS SDK (boto3 reads them too) --------------------------------------------------
AWS_REGION = "AWS_REGION"
AWS_DEFAULT_REGION = "AWS_DEFAULT_REGION"
AWS_ENDPOINT_URL = "AWS_ENDPOINT_URL"

ALL = frozenset(v for k, v in dict(globals()).items() if k.isupper() and isinstance(v, str))

# What the installer writes to /etc/clinic/clinic.env on every instance (mode
# ha adds DATABASE_URL and DB_SECRET_ID).
INSTANCE = frozenset({
    SETTINGS_MODULE, SECRET_KEY, DEBUG, ALLOWED_HOSTS, CSRF_TRUSTED_ORIGINS, HTTPS, DATA_DIR, STATIC_ROOT,
    PHOTO_BUCKET, BACKUP_BUCKET, BACKUP_PREFIX, ADMIN_SECRET_ID, AWS_REGION, AWS_DEFAULT_REGION,
})
INSTANCE_HA = frozenset({DATABASE_URL, DB_SECRET_ID})
# What local/env.py sets for the app (no nginx there: the app serves its static files).
LOCAL = frozenset({
    SETTINGS_MODULE, SECRET_KEY, DEBUG, ALLOWED_HOSTS, CSRF_TRUSTED_ORIGINS, HTTPS, DATA_DIR, STATIC_ROOT,
    PHOTO_BUCKET, SERVE_STATIC, ADMIN_USERNAME, AWS_REGION, AWS_DEFAULT_REGION, AWS_ENDPOINT_URL,
})
