"""The installer in mode ha (`--database-secret-id`), on real PostgreSQL with password auth.

Real: the release built for this machine, the installer, Secrets Manager as
moto's server (the production code path, AWS_ENDPOINT_URL), a throwaway
PostgreSQL cluster that demands passwords (scram-sha-256), Django with the
`clinic.pg_secret` backend. Checked: DATABASE_URL comes from the RDS-shaped
secret without the password, `migrate_locked` migrated PostgreSQL as the app's
user, no SQLite backup units are written; and after a rotation (the role's
password and the secret both change) the same running process reconnects with
the new password.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from local.pg import throwaway_postgres, why_unavailable  # noqa: E402
from tests.userdata.test_install_clinic import (  # noqa: E402,F401  (fixtures)
    REGION,
    Install,
    aws_env,
    free_port,
    moto_endpoint,
    read_env_file,
    release,
)

ROTATE = r"""
import json, os, boto3, psycopg
from django.db import connection
connection.ensure_connection()  # caches the current password
print("first", connection.vendor, flush=True)
connection.close()
with psycopg.connect(os.environ["ADMIN_URL"], autocommit=True) as admin:
    admin.execute("ALTER ROLE clinic_app PASSWORD 'pw-rotated-2'")
client = boto3.client("secretsmanager")
secret = json.loads(client.get_secret_value(SecretId=os.environ["CLINIC_DB_SECRET_ID"])["SecretString"])
client.put_secret_value(SecretId=os.environ["CLINIC_DB_SECRET_ID"], SecretString=json.dumps({**secret, "password": "pw-rotated-2"}))
from registry.models import Tutor
print("after rotation", Tutor.objects.count(), flush=True)
"""


@pytest.fixture(scope="module")
def pg_admin():
    if why_unavailable():
        pytest.skip(why_unavailable())
    with throwaway_postgres(password="admin-pw-1") as url:
        import psycopg

        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute("CREATE ROLE clinic_app LOGIN PASSWORD 'pw-one-1'")
            admin.execute("ALTER DATABASE clinic OWNER TO clinic_app")
            admin.execute("ALTER SCHEMA public OWNER TO clinic_app")
        yield url


def test_installer_mode_ha_migrates_postgres_from_the_secret_and_survives_rotation(
    tmp_path_factory, release, aws_env, pg_admin  # noqa: F811
):
    import boto3
    import psycopg

    port = int(pg_admin.rsplit(":", 1)[1].split("/")[0])
    client = boto3.client("secretsmanager", endpoint_url=aws_env["AWS_ENDPOINT_URL"], region_name=REGION,
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    secret = {"engine": "postgres", "username": "clinic_app", "password": "pw-one-1", "host": "127.0.0.1",
              "port": port, "dbname": "clinic",
              "sslmode": "disable"}  # the test cluster has no TLS; RDS secrets have no sslmode: require
    arn = client.create_secret(Name="clinic/db-ha-test", SecretString=json.dumps(secret))["ARN"]

    inst = Install(tmp_path_factory.mktemp("root-ha"), release, aws_env, free_port())
    result = inst.run("--database-secret-id", arn)
    assert result.returncode == 0, f"installer failed:\n{result.stdout}\n{result.stderr}"

    env = read_env_file(inst.env_file)
    assert env["DATABASE_URL"] == f"postgres://clinic_app@127.0.0.1:{port}/clinic?sslmode=disable"
    assert "pw-one-1" not in inst.env_file.read_text()  # the password is read at connect time
    assert env["CLINIC_DB_SECRET_ID"] == arn
    systemd = inst.root / "etc/systemd/system"
    assert (systemd / "clinic-gunicorn.service").exists()
    assert not (systemd / "clinic-backup.timer").exists() and not (systemd / "clinic-backup.service").exists()
    assert not inst.db.exists()  # no SQLite in mode ha
    with psycopg.connect(pg_admin) as admin:
        owner = admin.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'registry_animal'").fetchone()
        admin_user = admin.execute("SELECT COUNT(*) FROM auth_user WHERE username = 'admin'").fetchone()[0]
    assert owner == ("clinic_app",)  # migrated by the app's user, with the secret's password
    assert admin_user == 1

    rotate = subprocess.run([str(inst.manage_bin), "shell", "--no-imports", "-c", ROTATE],
                            env={**aws_env, "ADMIN_URL": pg_admin}, capture_output=True, text=True, timeout=120)
    assert rotate.returncode == 0, rotate.stdout + rotate.stderr
    assert "first postgresql" in rotate.stdout
    assert "after rotation 0" in rotate.stdout


def test_installer_refuses_both_database_options(tmp_path, release, aws_env):  # noqa: F811
    inst = Install(tmp_path, release, aws_env, free_port())
    result = inst.run("--database-secret-id", "x", "--database-secret-file", "y")
    assert result.returncode == 64 and "only one of --database-secret-id" in result.stderr
    assert os.path.exists(tmp_path) and not inst.env_file.exists()
