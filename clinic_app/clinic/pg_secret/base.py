"""Django's PostgreSQL backend, with the password taken from Secrets Manager.

Mode ha's database credentials rotate every 30 days (stacks/ha_database.py),
so a password written into the environment at install time would stop working
after the first rotation. This backend reads the secret named by
CLINIC_DB_SECRET_ID (the RDS secret: JSON with username, password, host, port,
dbname) when it opens a connection, keeps it for SECRET_TTL seconds, and reads
it again at once when the server refuses the password (a rotation just
happened). Everything else is Django's own backend.
"""

from __future__ import annotations

import json
import os
import threading
import time

from django.db.backends.postgresql import base

from clinic import envvars

SECRET_TTL = 300  # seconds
_lock = threading.Lock()
_cached: dict = {"at": 0.0, "value": None}


def _read_secret(secret_id: str) -> dict:
    import boto3

    value = boto3.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"]
    return json.loads(value)


def current_credentials(refresh: bool = False) -> dict:
    secret_id = os.environ.get(envvars.DB_SECRET_ID, "")
    if not secret_id:
        return {}
    with _lock:
        if refresh or _cached["value"] is None or time.monotonic() - _cached["at"] > SECRET_TTL:
            _cached["value"] = _read_secret(secret_id)
            _cached["at"] = time.monotonic()
        return dict(_cached["value"])


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self):
        params = super().get_connection_params()
        creds = current_credentials()
        if creds:
            params["user"] = creds.get("username", params.get("user"))
            params["password"] = creds["password"]
        return params

    def get_new_connection(self, conn_params):
        try:
            return super().get_new_connection(conn_params)
        except base.Database.OperationalError as error:
            if "password authentication failed" not in str(error):
                raise
            creds = current_credentials(refresh=True)  # rotated since we last read it
            if not creds:
                raise
            return super().get_new_connection({**conn_params, "user": creds["username"], "password": creds["password"]})
