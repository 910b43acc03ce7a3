"""Fixtures for the clinic web app tests (pytest-django + moto S3)."""

from __future__ import annotations

import itertools

import boto3
import pytest
from django.contrib.auth.models import Group, User
from django.core.cache import cache
from moto import mock_aws
from registry import roles, s3
from registry.models import Animal, ConsentRecord, Tutor
from registry.validators import cpf_check_digits

BUCKET = "test-clinic-photos"
_counter = itertools.count(1)


def make_cpf(n: int | None = None) -> str:
    base = f"{(n if n is not None else next(_counter)) + 100000000:09d}"[-9:]
    return base + cpf_check_digits(base)


def make_chip(n: int | None = None) -> str:
    return f"076{(n if n is not None else next(_counter)):012d}"


def token_for(obj) -> str:
    """The edit token a freshly opened edit page of ``obj`` carries (optimistic locking)."""
    from registry import editing
    from registry.views import ANIMAL_FORM_FIELDS, TUTOR_AUDITED

    obj = type(obj).objects.get(pk=obj.pk)
    return editing.edit_token(obj, ANIMAL_FORM_FIELDS if isinstance(obj, Animal) else TUTOR_AUDITED)


@pytest.fixture(autouse=True, scope="session")
def _flush_may_empty_the_audit_trail():
    """The test runner empties the database between transactional tests with
    `flush` (DELETE on SQLite, TRUNCATE on PostgreSQL), which the audit trail's
    append-only triggers (registry.audit_guard) refuse, as they should in the
    clinic. Here only, a flush lifts the guard and puts it back."""
    from django.core.management.commands import flush
    from django.db import connections
    from registry import audit_guard

    original = flush.Command.handle

    def handle(self, **options):
        connection = connections[options.get("database") or "default"]
        guarded = not audit_guard.out_of_date(connection)
        if guarded:
            audit_guard.drop(connection)
        try:
            return original(self, **options)
        finally:
            if guarded:
                audit_guard.create(connection)

    flush.Command.handle = handle
    yield
    flush.Command.handle = original


@pytest.fixture(autouse=True)
def _clean_state(settings):
    """Fast hashing, a fresh cache and S3 client per test; fixed bucket/region."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.PHOTO_BUCKET = BUCKET
    settings.AWS_REGION = "us-east-1"
    settings.AWS_ENDPOINT_URL = None
    # The test client speaks plain HTTP; test_security.py covers the redirect.
    settings.SECURE_SSL_REDIRECT = False
    cache.clear()
    s3.reset_client()
    yield
    s3.reset_client()


def _user(username: str, group: str | None, **extra) -> User:
    user = User.objects.create_user(username=username, password="senha-de-teste-123", **extra)
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def reception_user(db):
    return _user("recepcao", roles.RECEPTION)


@pytest.fixture
def vet_user(db):
    return _user("vet", roles.VET)


@pytest.fixture
def admin_user(db):
    return _user("gestor", roles.ADMIN, is_staff=True)


@pytest.fixture
def nobody_user(db):
    return _user("semgrupo", None)


def _client_for(client_factory, user):
    c = client_factory()
    c.force_login(user)
    return c


@pytest.fixture
def reception_client(reception_user):
    from django.test import Client

    return _client_for(Client, reception_user)


@pytest.fixture
def vet_client(vet_user):
    from django.test import Client

    return _client_for(Client, vet_user)


@pytest.fixture
def admin_client_(admin_user):
    from django.test import Client

    return _client_for(Client, admin_user)


@pytest.fixture
def root_client(db):
    """A superuser: the only one the Django admin lets in."""
    from django.test import Client

    return _client_for(Client, User.objects.create_superuser("raiz", password="senha-de-teste-123"))


@pytest.fixture
def nobody_client(nobody_user):
    from django.test import Client

    return _client_for(Client, nobody_user)


@pytest.fixture
def make_tutor(db):
    def factory(photo_consent: bool = True, **kw) -> Tutor:
        defaults = {"name": "Maria da Silva", "cpf": make_cpf(), "phone": "11987654321"}
        defaults.update(kw)
        tutor = Tutor.objects.create(**defaults)
        if photo_consent:  # issue 16: no photo upload without the tutor's consent
            ConsentRecord.objects.create(tutor=tutor, purpose=ConsentRecord.Purpose.PHOTOS, granted=True,
                                         method=ConsentRecord.Method.SIGNED)
        return tutor

    return factory


@pytest.fixture
def make_animal(db, make_tutor):
    def factory(**kw) -> Animal:
        if "tutor" not in kw:
            kw["tutor"] = make_tutor()
        if isinstance(kw.get("species"), str):  # a species code ("dog", "cat", ...)
            kw["species_id"] = kw.pop("species")
        defaults = {"name": "Thor", "sex": Animal.Sex.MALE}
        if "species" not in kw:
            defaults["species_id"] = "dog"
        defaults.update(kw)
        return Animal.objects.create(**defaults)

    return factory


@pytest.fixture
def s3_bucket():
    """A moto S3 bucket; yields a boto3 client on it."""
    with mock_aws():
        s3.reset_client()
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client
    s3.reset_client()
