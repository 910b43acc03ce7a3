"""/healthz, management commands (sign-in limiting: test_signin.py)."""

import json

import boto3
import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse
from moto import mock_aws
from registry import photo_contract
from registry.models import Animal, Photo, Tutor
from registry.validators import is_valid_cpf, normalise_phone

pytestmark = pytest.mark.django_db
def test_healthz_ok(client):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200 and response.content == b"ok\n"
    assert response["Cache-Control"].startswith("max-age=0")


def test_healthz_503_when_database_unusable(client, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk I/O error")

    monkeypatch.setattr(connection, "cursor", broken)
    response = client.get(reverse("healthz"))
    assert response.status_code == 503


def test_healthz_503_when_schema_missing(client):
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE registry_animal RENAME TO registry_animal_gone")
    try:
        assert client.get(reverse("healthz")).status_code == 503
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE registry_animal_gone RENAME TO registry_animal")


# --- create_first_admin ------------------------------------------------------------

def test_create_first_admin_from_env(monkeypatch, capsys):
    monkeypatch.setenv("CLINIC_ADMIN_PASSWORD", "uma-senha-bem-longa")
    monkeypatch.setenv("CLINIC_ADMIN_USERNAME", "chefe")
    call_command("create_first_admin")
    user = User.objects.get(username="chefe")
    assert user.is_superuser and user.is_staff and user.check_password("uma-senha-bem-longa")
    assert user.groups.filter(name="Administração").exists()
    assert user.password.startswith("md5$")  # tests use MD5; production is Argon2 (test_security)
    # idempotent, never prints the password
    monkeypatch.setenv("CLINIC_ADMIN_PASSWORD", "outra-senha-bem-longa")
    call_command("create_first_admin")
    user.refresh_from_db()
    assert user.check_password("uma-senha-bem-longa")
    out = capsys.readouterr()
    assert "senha-bem-longa" not in out.out + out.err
    assert User.objects.count() == 1


def test_create_first_admin_from_file(tmp_path, monkeypatch):
    monkeypatch.delenv("CLINIC_ADMIN_PASSWORD", raising=False)
    secret = tmp_path / "pw"
    secret.write_text("senha-do-arquivo-123\n")
    call_command("create_first_admin", "--password-file", str(secret))
    assert User.objects.get(username="admin").check_password("senha-do-arquivo-123")


@pytest.mark.parametrize("secret_string", [json.dumps({"password": "senha-do-secrets-manager"}),
                                           "senha-do-secrets-manager"])
def test_create_first_admin_from_secrets_manager(monkeypatch, secret_string):
    monkeypatch.delenv("CLINIC_ADMIN_PASSWORD", raising=False)
    with mock_aws():
        sm = boto3.client("secretsmanager", region_name="us-east-1")
        arn = sm.create_secret(Name="clinic/admin", SecretString=secret_string)["ARN"]
        call_command("create_first_admin", "--secret-id", arn)
    assert User.objects.get(username="admin").check_password("senha-do-secrets-manager")


def test_create_first_admin_without_password_fails(monkeypatch):
    monkeypatch.delenv("CLINIC_ADMIN_PASSWORD", raising=False)
    with pytest.raises(CommandError, match="Senha não informada"):
        call_command("create_first_admin")
    monkeypatch.setenv("CLINIC_ADMIN_PASSWORD", "curta")
    with pytest.raises(CommandError, match="pelo menos 12"):
        call_command("create_first_admin")
    assert not User.objects.exists()


def test_setup_roles_is_idempotent():
    from django.contrib.auth.models import Group

    call_command("setup_roles")
    call_command("setup_roles")
    assert set(Group.objects.values_list("name", flat=True)) == {"Recepção", "Veterinário", "Administração"}


# --- seed_demo ---------------------------------------------------------------------------

def test_seed_demo_creates_realistic_valid_data():
    call_command("seed_demo", "--animals", "300", "--tutors", "100", "--with-photos", "0.5")
    assert Tutor.objects.count() == 100 and Animal.objects.count() == 300
    for tutor in Tutor.objects.all():
        assert tutor.cpf is None or is_valid_cpf(tutor.cpf)
        assert normalise_phone(tutor.phone) == tutor.phone
        assert tutor.search_phones.startswith(tutor.phone)
        assert tutor.search_name == tutor.search_name.lower()
    chips = [c for c in Animal.objects.values_list("microchip", flat=True) if c]
    assert chips and all(len(c) == 15 and c.isdigit() for c in chips)
    assert len(set(chips)) == len(chips)
    assert all(t.animals.exists() for t in Tutor.objects.all())  # every tutor has an animal
    assert Photo.objects.filter(status="ok", is_primary=True).exists()
    for photo in Photo.objects.all():  # the photo contract's keys and rendition sizes
        assert photo_contract.photo_id_of_upload(photo.key) == photo.photo_id
        assert {name: (r["key"], r["width"]) for name, r in photo.renditions.items()} == {
            spec.name: (photo_contract.rendition_key(photo.photo_id, spec.name), spec.box)
            for spec in photo_contract.RENDITIONS}
    # a second run adds more without clashing on unique CPFs/microchips
    call_command("seed_demo", "--animals", "50", "--tutors", "20", "--seed", "42")
    assert Animal.objects.count() == 350
