"""Test data for the app tests: plain functions the tests import.

Valid identifiers (CPF with check digits, ISO microchips), tutors, animals,
users in a role, the edit token of a freshly opened edit page, and the test
bucket's name. tests/app/conftest.py wraps some of them as fixtures
(``make_tutor``, ``make_animal``, ``reception_user``, ...); everything else
about test data lives here.
"""

from __future__ import annotations

import itertools

from django.contrib.auth.models import Group, User
from registry import photo_contract as contract
from registry.models import Animal, ConsentRecord, Tutor
from registry.validators import cpf_check_digits

BUCKET = "test-clinic-photos"
PASSWORD = "senha-de-teste-123"
_counter = itertools.count(1)


def make_cpf(n: int | None = None) -> str:
    """A valid CPF, different on every call (or the n-th one)."""
    base = f"{(n if n is not None else next(_counter)) + 100000000:09d}"[-9:]
    return base + cpf_check_digits(base)


def make_chip(n: int | None = None) -> str:
    """A valid ISO 11784 microchip (Brazil, 076), different on every call."""
    return f"076{(n if n is not None else next(_counter)):012d}"


def create_tutor(photo_consent: bool = True, **kw) -> Tutor:
    """A tutor; with the photo consent recorded unless ``photo_consent=False``
    (issue 16: no photo upload without the tutor's consent)."""
    defaults = {"name": "Maria da Silva", "cpf": make_cpf(), "phone": "11987654321"}
    tutor = Tutor.objects.create(**{**defaults, **kw})
    if photo_consent:
        ConsentRecord.objects.create(tutor=tutor, purpose=ConsentRecord.Purpose.PHOTOS, granted=True,
                                     method=ConsentRecord.Method.SIGNED)
    return tutor


def create_animal(**kw) -> Animal:
    """An animal; ``species`` may be a species code ("dog", "cat", ...) or a Species."""
    if "tutor" not in kw:
        kw["tutor"] = create_tutor()
    if isinstance(kw.get("species"), str):
        kw["species_id"] = kw.pop("species")
    defaults = {"name": "Thor", "sex": Animal.Sex.MALE}
    if "species" not in kw:
        defaults["species_id"] = "dog"
    return Animal.objects.create(**{**defaults, **kw})


def create_user(username: str, group: str | None, **extra) -> User:
    """A user with the test password, in ``group`` (a registry.roles name) if given."""
    user = User.objects.create_user(username=username, password=PASSWORD, **extra)
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


def client_for(user):
    """A Django test client signed in as ``user``."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


# What a fake processor "made" of a 4000x3000 JPEG: the required renditions only
# (thumb_hd is optional), at sizes the tests can tell apart in a srcset.
RENDERED_WIDTHS = {"large": 1600, "medium": 800, "thumb": 240}


def ok_manifest(photo_id: str, source_key: str, size: int, *, suffix: str = "jpg",
                processor_version: str = "1.0.0") -> contract.Manifest:
    """A processed photo's manifest, built (and so validated) by the contract."""
    return contract.Manifest(
        photo_id=photo_id, status=contract.STATUS_OK,
        source=contract.Source(key=source_key, bytes=size, format="JPEG", width=4000, height=3000),
        renditions={name: contract.Rendition(key=f"{contract.processed_prefix(photo_id)}{name}-v2.{suffix}",
                                             width=w, height=w * 3 // 4, bytes=w * 10)
                    for name, w in RENDERED_WIDTHS.items()},
        processed_at="2026-01-01T12:00:00Z", processor_version=processor_version,
    )


def failed_manifest(photo_id: str, source_key: str, code: str) -> contract.Manifest:
    return contract.Manifest(
        photo_id=photo_id, status=contract.STATUS_FAILED, source=contract.Source(key=source_key),
        error=contract.Failure(code=code, message="cannot identify image file"),
        processed_at="2026-01-01T12:00:00Z", processor_version="1.0.0",
    )


def token_for(obj) -> str:
    """The edit token a freshly opened edit page of ``obj`` carries (optimistic locking)."""
    from registry import editing
    from registry.views import ANIMAL_FORM_FIELDS, TUTOR_AUDITED

    obj = type(obj).objects.get(pk=obj.pk)
    return editing.edit_token(obj, ANIMAL_FORM_FIELDS if isinstance(obj, Animal) else TUTOR_AUDITED)
