"""The environment for each service: the EC2 variable names, local values."""

from __future__ import annotations

import os
from pathlib import Path

from clinic_app.clinic import envvars as E
from local.state import State

REPO = Path(__file__).resolve().parent.parent
APP_DIR = REPO / "clinic_app"
LAMBDA_SRC = REPO / "lambda_src"
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}
# Never let a developer's real AWS identity leak into the local run.
_DROP = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_DEFAULT_PROFILE",
         "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE",
         E.DATABASE_URL)


def base_env(endpoint: str, region: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _DROP and not k.startswith(("DJANGO_", "CLINIC_"))}
    env.update(FAKE_CREDENTIALS)
    env.update({
        E.AWS_ENDPOINT_URL: endpoint,
        E.AWS_REGION: region,
        E.AWS_DEFAULT_REGION: region,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": os.pathsep.join([str(REPO), str(APP_DIR)]),
    })
    return env


def app_env(base: dict[str, str], state: State, *, origins: list[str], bucket: str) -> dict[str, str]:
    """What the EC2 unit file sets, with local values (see clinic_app/README.md)."""
    hosts = sorted({origin.split("://", 1)[1].rsplit(":", 1)[0] for origin in origins})
    env = dict(base)
    env.update({
        E.SETTINGS_MODULE: "clinic.settings",
        E.DATA_DIR: str(state.data_dir),
        E.SECRET_KEY: state.secret_key(),
        E.DEBUG: "0",
        E.ALLOWED_HOSTS: ",".join(hosts),
        E.CSRF_TRUSTED_ORIGINS: ",".join(origins),
        E.HTTPS: "0",
        E.PHOTO_BUCKET: bucket,
        E.STATIC_ROOT: str(state.static_root),
        # No nginx here: the app serves its own static files (clinic/urls.py).
        E.SERVE_STATIC: "1",
        E.ADMIN_USERNAME: "admin",
        "LOCAL_ADMIN_PASSWORD_FILE": str(state.admin_password_file),  # the runner's own (local/appsetup.py)
    })
    return env


def worker_env(base: dict[str, str]) -> dict[str, str]:
    """What the deployed function has (stacks/photo_processor.py) plus the endpoint."""
    env = dict(base)
    # Lambda's runtime puts the asset root (lambda_src) on the path: so does the worker's.
    env.update({"LOG_LEVEL": "INFO",
                "PYTHONPATH": os.pathsep.join([base.get("PYTHONPATH", ""), str(LAMBDA_SRC)]).lstrip(os.pathsep)})
    return env
