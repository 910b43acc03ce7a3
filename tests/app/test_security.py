"""Settings from the environment and the secure defaults (checked in fresh interpreters)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

REPO = Path(__file__).resolve().parents[2]

PROBE = r"""
import json, os
os.environ["DJANGO_SETTINGS_MODULE"] = "clinic.settings"
from django.conf import settings
settings.INSTALLED_APPS  # force import
out = {{k: getattr(settings, k, None) for k in (
    "DEBUG", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_HSTS_SECONDS", "SECURE_SSL_REDIRECT",
    "SECURE_PROXY_SSL_HEADER", "SECURE_REDIRECT_EXEMPT", "X_FRAME_OPTIONS", "PASSWORD_HASHERS",
    "CONTENT_SECURITY_POLICY", "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS", "TIME_ZONE", "LANGUAGE_CODE",
    "PHOTO_BUCKET", "AWS_REGION", "AWS_ENDPOINT_URL", "STATIC_ROOT", "DATA_DIR")}}
db = settings.DATABASES["default"]
out["DB_ENGINE"] = db["ENGINE"]; out["DB_NAME"] = str(db["NAME"])
if {check_wal!r}:
    import django; django.setup()
    from django.db import connection
    with connection.cursor() as c:
        c.execute("PRAGMA journal_mode"); out["JOURNAL"] = c.fetchone()[0]
print(json.dumps(out, default=str))
"""


def probe(env: dict, check_wal: bool = False) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("DJANGO_", "CLINIC_", "AWS_")) and k != "DATABASE_URL"}
    base.update(env)
    base["PYTHONPATH"] = os.pathsep.join([str(REPO), str(REPO / "clinic_app")])
    code = PROBE.format(check_wal=check_wal)
    return subprocess.run([sys.executable, "-c", code], env=base, capture_output=True, text=True, timeout=60)


def values(env: dict, **kw) -> dict:
    result = probe(env, **kw)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_defaults_are_secure(tmp_path):
    v = values({"DJANGO_SECRET_KEY": "x" * 50, "CLINIC_DATA_DIR": str(tmp_path),
                "DJANGO_ALLOWED_HOSTS": "clinica.example.com, d123.cloudfront.net",
                "DJANGO_CSRF_TRUSTED_ORIGINS": "https://clinica.example.com",
                "CLINIC_PHOTO_BUCKET": "fotos-prod", "AWS_REGION": "sa-east-1"})
    assert v["DEBUG"] is False
    assert v["SESSION_COOKIE_SECURE"] is True and v["CSRF_COOKIE_SECURE"] is True
    assert v["SECURE_HSTS_SECONDS"] >= 31536000
    assert v["SECURE_SSL_REDIRECT"] is True and v["SECURE_REDIRECT_EXEMPT"] == ["^healthz$"]
    assert v["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert v["X_FRAME_OPTIONS"] == "DENY"
    assert v["PASSWORD_HASHERS"][0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    assert v["ALLOWED_HOSTS"] == ["clinica.example.com", "d123.cloudfront.net"]
    assert v["CSRF_TRUSTED_ORIGINS"] == ["https://clinica.example.com"]
    assert v["TIME_ZONE"] == "America/Sao_Paulo" and v["LANGUAGE_CODE"] == "pt-br"
    assert v["AWS_REGION"] == "sa-east-1" and v["PHOTO_BUCKET"] == "fotos-prod"
    assert v["DB_ENGINE"] == "django.db.backends.sqlite3"
    assert v["DB_NAME"] == str(tmp_path / "db" / "clinic.sqlite3")
    csp = v["CONTENT_SECURITY_POLICY"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert "https://fotos-prod.s3.sa-east-1.amazonaws.com" in csp
    assert "'unsafe-inline'" not in csp
    assert (tmp_path / "logs" / "clinic.log").parent.is_dir()


def test_local_http_run(tmp_path):
    v = values({"DJANGO_SECRET_KEY": "x" * 50, "CLINIC_HTTPS": "0", "CLINIC_DATA_DIR": str(tmp_path),
                "AWS_ENDPOINT_URL": "http://127.0.0.1:5000", "AWS_DEFAULT_REGION": "eu-west-1"}, check_wal=True)
    assert v["DEBUG"] is False
    assert not v["SESSION_COOKIE_SECURE"] and not v["SECURE_SSL_REDIRECT"] and not v["SECURE_HSTS_SECONDS"]
    assert v["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5000" and v["AWS_REGION"] == "eu-west-1"
    assert "connect-src 'self' http://127.0.0.1:5000" in v["CONTENT_SECURITY_POLICY"]
    assert v["JOURNAL"] == "wal"  # SQLite in WAL mode


def test_missing_secret_key_fails_loudly_in_production(tmp_path):
    result = probe({"CLINIC_DATA_DIR": str(tmp_path)})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_database_url_overrides_sqlite(tmp_path):
    v = values({"DJANGO_SECRET_KEY": "x" * 50, "CLINIC_DATA_DIR": str(tmp_path),
                "DATABASE_URL": "postgres://clinic:pw@db.example.internal:5432/clinic"})
    assert v["DB_ENGINE"] == "django.db.backends.postgresql" and v["DB_NAME"] == "clinic"


@pytest.mark.django_db
def test_security_headers(client, settings):
    response = client.get(reverse("login"), secure=True)
    assert response["X-Frame-Options"] == "DENY"
    assert response["Content-Security-Policy"] == settings.CONTENT_SECURITY_POLICY
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")
    assert response["Referrer-Policy"] == "same-origin"


@pytest.mark.django_db
def test_https_redirect_but_not_for_healthz(settings):
    settings.SECURE_SSL_REDIRECT = True
    c = Client()
    response = c.get(reverse("login"))
    assert response.status_code == 301 and response["Location"].startswith("https://")
    assert c.get(reverse("healthz")).status_code == 200  # local health checks over plain HTTP
    # behind the front door (nginx sets X-Forwarded-Proto), no redirect loop
    assert c.get(reverse("login"), HTTP_X_FORWARDED_PROTO="https").status_code == 200


@pytest.mark.django_db
def test_session_cookie_is_secure_and_httponly(client, reception_user, settings):
    response = client.post(reverse("login"), {"username": "recepcao", "password": "senha-de-teste-123"},
                           secure=True)
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["secure"] and cookie["httponly"] and cookie["samesite"] == "Lax"


def test_no_inline_script_in_templates():
    templates = REPO / "clinic_app" / "registry" / "templates"
    for path in templates.rglob("*.html"):
        text = path.read_text()
        assert "<script>" not in text and " on" + "click=" not in text and "style=" not in text, path
