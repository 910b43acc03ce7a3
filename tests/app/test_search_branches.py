"""Branches of registry/search.py that the page tests do not reach: defaults,
boundaries of the numeric rules, identifiers in any format and the
paginator's orphans and no-probe paths. Written against the surviving
mutants of `make mutate`; the tests of the old engine's internals (tutor_q,
_tutor_filter, MAX_INLINE_TUTOR_IDS, the SQL of identifier lookups) became
behavioural tests of the FTS5 / pg_trgm engine (issue 15)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from registry import search
from registry.models import Animal, Tutor

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("q", "numeric"), [
    ("123", True), ("12", False), ("1.2", False), ("(11) 9", True), ("529.982", True),
    ("rex123", False), ("abc", False), ("12a34", False), ("", False),
])
def test_is_numeric_query(q, numeric):
    assert search.is_numeric_query(q) is numeric


def test_defaults_list_every_active_animal(make_animal):
    b, a = make_animal(name="Bidu"), make_animal(name="Amora")
    make_animal(name="Arquivado", is_active=False)
    assert list(search.animal_queryset()) == [a, b]
    assert search.animal_queryset().count() == 2


def test_empty_tutor_query_matches_no_row_and_the_page_lists_every_tutor(reception_client, make_tutor):
    make_tutor(name="Ana"), make_tutor(name="Beto")
    assert search.search_tutors("").ids == [] and search.search_tutors(None).ids == []
    page = reception_client.get(reverse("tutor_list"), {"q": ""}).content.decode()
    assert "Ana" in page and "Beto" in page


def _tutors(q):
    return search.ordered(Tutor.objects.all(), search.search_tutors(q).ids)


def test_eleven_digits_find_the_cpf_and_both_phones(make_tutor, make_animal):
    ana = make_tutor(name="Ana", cpf="52998224725", phone="1133334444", phone_secondary="21987654321")
    make_animal(name="Bidu", tutor=ana)
    assert _tutors("(21) 98765-4321") == [ana]
    assert _tutors("529.982.247-25") == [ana]
    assert _tutors("(11) 3333-4444") == [ana]


def test_more_than_eleven_digits_match_no_tutor(reception_client, make_tutor):
    make_tutor(name="Ana", phone="11987654321")
    assert _tutors("119876543210") == []
    page = reception_client.get(reverse("tutor_list"), {"q": "119876543210"})
    assert page.status_code == 200 and "Ana" not in page.content.decode()


def test_fifteen_digits_find_the_microchip(make_animal):
    rex = make_animal(name="Rex", microchip="076000000000001")
    make_animal(name="Bidu", microchip="076000000000002")
    assert search.search_animals("076000000000001").ids == [rex.pk]
    assert search.search_animals("０７６000000000001").ids == [rex.pk]  # issue 13: full-width digits


def test_a_tutor_name_finds_every_animal_of_every_matching_tutor(make_tutor, make_animal):
    tutors = [make_tutor(name=f"Carla {i}") for i in range(3)]
    animals = [make_animal(name=f"Pet {i}", tutor=t) for i, t in enumerate(tutors)]
    found = search.search_animals("carla").ids
    assert sorted(found) == sorted(a.pk for a in animals)


@pytest.fixture
def twelve(make_tutor, make_animal):
    tutor = make_tutor()
    return [make_animal(name=f"Animal {i:02d}", tutor=tutor) for i in range(12)]


def test_paginator_defaults(twelve):
    p = search.DeferredJoinPaginator(Animal.objects.order_by("id"), 5)
    assert p.probe is True
    assert list(p.page(1).object_list) == twelve[:5]  # no `load`: the plain objects


def test_paginator_orphans_join_the_last_page(twelve):
    p = search.DeferredJoinPaginator(Animal.objects.order_by("id"), 5, orphans=2)
    assert p.num_pages == 2
    assert list(p.page(2).object_list) == twelve[5:]


def test_paginator_without_probe_reads_ids_per_page(twelve):
    p = search.DeferredJoinPaginator(Animal.objects.order_by("id"), 5, probe=False)
    assert p.count == 12
    assert list(p.page(3).object_list) == twelve[10:]


def test_same_names_are_ordered_by_id_for_stable_pages(make_animal):
    assert search.animal_queryset().query.order_by == ("search_name", "id")


def test_list_thumbnail_is_only_ever_the_primary_photo(make_animal):
    from registry.models import Photo

    animal = make_animal(name="Sem Principal")
    Photo.objects.create(animal=animal, key="uploads/np/a.jpg", original_name="a.jpg", content_type="image/jpeg",
                         size=10, status="ok", is_primary=False, renditions={"thumb": {"key": "processed/np/t.jpg"}})
    (loaded,) = search.with_list_relations(Animal.objects.filter(pk=animal.pk))
    assert loaded.primary_photos == []


def test_page_ending_at_the_probe_end_reads_no_more_ids(twelve, django_assert_num_queries):
    p = search.DeferredJoinPaginator(Animal.objects.order_by("id")[:10], 5)
    assert p.count == 10  # the probe
    with django_assert_num_queries(1):  # the rows only: the ids come from the probe
        assert len(p.page(2).object_list) == 5
