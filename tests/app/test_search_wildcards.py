"""LIKE wildcards typed in a search box are plain characters.

`%`, `_` and the escape character `\\` must match only themselves, in animal
names and in tutor names, through the page and through registry.search
(rewritten for the FTS5 / pg_trgm engine of issue 15: its substring terms go
through the index, its short terms through escaped LIKE or a range). The
app suite runs again on PostgreSQL (tests/app/test_postgres.py), so these
hold on both SQLite and PostgreSQL.
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from registry import search
from registry.models import Animal, Tutor

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
    result = search.search_animals(q)
    return sorted(a.name for a in search.ordered(Animal.objects.all(), result.ids))


def tutor_names(q: str) -> list[str]:
    result = search.search_tutors(q)
    return sorted(t.name for t in search.ordered(Tutor.objects.all(), result.ids))


# Terms of 3+ characters are substrings in the trigram index (FTS5 / pg_trgm); shorter
# ones are word prefixes (registry.search). Either way a wildcard is a plain character.
@pytest.mark.parametrize(("q", "expected"), [
    ("ex%", ["Rex%"]),              # % at the end does not mean "anything"
    ("x%", []),                     # a short term: a word starting with "x%"
    ("%", []),                      # no name starts with %: not "every animal"
    ("_", []),                      # nor with _
    ("\\", []),                    # nor with \
    ("r_x", []),                    # _ does not mean "one character"
    ("rex_", ["Rex_1"]),
    ("x_1", ["Rex_1"]),
    ("%%%", []),
    ("mel\\", ["Mel\\Gato"]),
    ("l\\g", ["Mel\\Gato"]),
    ("0% b", []),                   # only short terms: a prefix of the name ("0% b..."), escaped
    ("100% b", ["100% Bob"]),       # a short word ("b") filters with an escaped LIKE
    ("100% x", []),
])
def test_wildcards_in_animal_search_are_literal(names_world, q, expected):
    assert animal_names(q) == expected


@pytest.mark.parametrize(("q", "expected"), [
    ("ana_lima", ["Ana_Lima"]),
    ("ana%lima", ["Ana%Lima"]),
    ("ana\\lima", ["Ana\\Lima"]),
    ("a_l", ["Ana_Lima"]),
    ("a%l", ["Ana%Lima"]),
    ("a\\l", ["Ana\\Lima"]),
    ("_", []),
    ("%", []),
    ("an%", []),                    # a short term is a prefix of a word: "an%" is not "an..."
    ("an_", []),
])
def test_wildcards_in_tutor_search_are_literal(names_world, q, expected):
    assert tutor_names(q) == expected


def test_wildcards_through_the_pages(reception_client, names_world):
    page = reception_client.get(reverse("animal_list"), {"q": "x_1"}).content.decode()
    assert "Rex_1" in page and "Mel" not in page and "Bob" not in page
    page = reception_client.get(reverse("tutor_list"), {"q": "a%l"}).content.decode()
    assert "Ana%Lima" in page and "Ana_Lima" not in page and "Anaxlima" not in page


def test_short_name_prefixes_are_index_ranges_on_sqlite(names_world):
    """SQLite's LIKE cannot use the B-tree index on search_name: a short query is a
    range there, an escaped LIKE 'x%' elsewhere (linguistic collations would make
    ranges wrong)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        assert animal_names("re") == ["Rex", "Rex%", "Rex_1"]
    sql = " ".join(q["sql"] for q in ctx.captured_queries)
    if connection.vendor == "sqlite":
        assert "search_name >=" in sql and "LIKE" not in sql.upper()
    else:
        assert "LIKE" in sql.upper() and "search_name >=" not in sql
