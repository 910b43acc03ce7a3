"""Fixtures for the clinic web app tests (pytest-django + moto S3); the test
data itself comes from tests/app/factories.py."""

from __future__ import annotations

import boto3
import pytest
from django.core.cache import cache
from moto import mock_aws
from registry import roles, s3

# Test data is made by tests/app/factories.py; these fixtures only wrap it.
# (make_cpf, make_chip and token_for stay importable from here for tests
# written before the split; new tests import them from .factories.)
from .factories import BUCKET, client_for, create_animal, create_tutor, create_user, make_chip, make_cpf, token_for  # noqa: F401


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


@pytest.fixture
def reception_user(db):
    return create_user("recepcao", roles.RECEPTION)


@pytest.fixture
def vet_user(db):
    return create_user("vet", roles.VET)


@pytest.fixture
def admin_user(db):
    return create_user("gestor", roles.ADMIN, is_staff=True)


@pytest.fixture
def nobody_user(db):
    return create_user("semgrupo", None)


@pytest.fixture
def reception_client(reception_user):
    return client_for(reception_user)


@pytest.fixture
def vet_client(vet_user):
    return client_for(vet_user)


@pytest.fixture
def admin_client_(admin_user):
    return client_for(admin_user)


@pytest.fixture
def root_client(db):
    """A superuser: the only one the Django admin lets in."""
    from django.contrib.auth.models import User

    return client_for(User.objects.create_superuser("raiz", password="senha-de-teste-123"))


@pytest.fixture
def nobody_client(nobody_user):
    return client_for(nobody_user)


@pytest.fixture
def make_tutor(db):
    """factories.create_tutor, with the database."""
    return create_tutor


@pytest.fixture
def make_animal(db, make_tutor):
    """factories.create_animal, with the database."""
    return create_animal


@pytest.fixture
def s3_bucket():
    """A moto S3 bucket; yields a boto3 client on it."""
    with mock_aws():
        s3.reset_client()
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client
    s3.reset_client()
