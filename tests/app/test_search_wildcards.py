"""LIKE wildcards typed in a search box are plain characters.

`%`, `_` and the escape character `\\` must match only themselves, in animal
names and in tutor names, through the page and through registry.search. The
app suite runs again on PostgreSQL (tests/app/test_postgres.py), so these
hold on both SQLite and PostgreSQL.
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from registry import search
from registry.models import Tutor

pytestmark = pytest.mark.django_db

ANIMALS = ["Rex", "Rex_1", "Rex%", "Mel", "Mel\\Gato", "100% Bob", "Bob"]


@pytest.fixture
def names_world(make_tutor, make_animal):
    tutor = make_tutor(name="Carla Pereira")
    for name in ANIMALS:
        make_animal(name=name, tutor=tutor)
    tutors = {n: make_tutor(name=n) for n in ("Ana_Lima", "Ana Lima", "Ana%Lima", "Anaxlima", "Ana\\Lima")}
    return tutors


def animal_names(q: str) -> list[str]:
    return sorted(a.name for a in search.animal_queryset(q))


def tutor_names(q: str) -> list[str]:
    return sorted(Tutor.objects.filter(search.tutor_q(q)).values_list("name", flat=True))


@pytest.mark.parametrize(("q", "expected"), [
    ("%", ["100% Bob", "Rex%"]),
    ("_", ["Rex_1"]),
    ("\\", ["Mel\\Gato"]),
    ("x%", ["Rex%"]),               # % in the middle does not mean "anything"
    ("r_x", []),                    # _ does not mean "one character"
    ("rex_", ["Rex_1"]),
    ("%%", []),
    ("mel\\", ["Mel\\Gato"]),
    ("\\g", ["Mel\\Gato"]),
    ("0% b", ["100% Bob"]),
])
def test_wildcards_in_animal_search_are_literal(names_world, q, expected):
    assert animal_names(q) == expected


@pytest.mark.parametrize(("q", "expected"), [
    ("ana_lima", ["Ana_Lima"]),
    ("ana%lima", ["Ana%Lima"]),
    ("ana\\lima", ["Ana\\Lima"]),
    ("_", ["Ana_Lima"]),
    ("%", ["Ana%Lima"]),
    ("\\", ["Ana\\Lima"]),
])
def test_wildcards_in_tutor_search_are_literal(names_world, q, expected):
    assert tutor_names(q) == expected


def test_wildcards_through_the_pages(reception_client, names_world):
    page = reception_client.get(reverse("animal_list"), {"q": "_"}).content.decode()
    assert "Rex_1" in page and "Mel" not in page and "Bob" not in page
    page = reception_client.get(reverse("tutor_list"), {"q": "%"}).content.decode()
    assert "Ana%Lima" in page and "Ana_Lima" not in page and "Anaxlima" not in page


def test_identifier_prefixes_are_index_ranges_on_sqlite(db):
    """SQLite's LIKE cannot use the B-tree index: prefixes are ranges there,
    LIKE 'd%' elsewhere (linguistic collations would make ranges wrong)."""
    from django.db import connection
    from registry.models import Animal

    sql = str(Animal.objects.filter(search._prefix("microchip", "985")).query)
    if connection.vendor == "sqlite":
        assert '"microchip" >= 985' in sql and '"microchip" < 985:' in sql and "LIKE" not in sql.upper()
    else:
        assert "LIKE" in sql.upper() and ">=" not in sql
