"""Branches of registry/search.py that the page tests do not reach: defaults,
boundaries of the numeric rules, the inline-ids/subquery switch and the
paginator's orphans and no-probe paths. Written against the surviving
mutants of `make mutate`."""

from __future__ import annotations

import pytest
from django.db.models import Q
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


def test_empty_tutor_query_matches_every_tutor(make_tutor):
    make_tutor(name="Ana"), make_tutor(name="Beto")
    assert Tutor.objects.filter(search.tutor_q("")).count() == 2
    assert Tutor.objects.filter(search.tutor_q(None)).count() == 2


def test_eleven_digits_are_an_indexed_equality_on_cpf_and_both_phones(make_tutor, make_animal):
    ana = make_tutor(name="Ana", cpf="52998224725", phone="1133334444", phone_secondary="21987654321")
    make_animal(name="Bidu", tutor=ana)
    assert list(Tutor.objects.filter(search.tutor_q("(21) 98765-4321"))) == [ana]
    assert list(Tutor.objects.filter(search.tutor_q("529.982.247-25"))) == [ana]
    sql = str(Tutor.objects.filter(search.tutor_q("21987654321")).query)
    assert '"cpf" = 21987654321' in sql and '"phone_secondary" = 21987654321' in sql
    assert "LIKE" not in sql.upper()


def test_more_than_eleven_digits_match_no_tutor(reception_client, make_tutor):
    make_tutor(name="Ana", phone="11987654321")
    assert search.tutor_q("119876543210") == Q(pk__in=[])
    page = reception_client.get(reverse("tutor_list"), {"q": "119876543210"})
    assert page.status_code == 200 and "Ana" not in page.content.decode()


def test_fifteen_digits_are_a_microchip_equality(make_animal):
    rex = make_animal(name="Rex", microchip="076000000000001")
    qs = search.animal_queryset("076000000000001")
    assert list(qs) == [rex]
    where = str(qs.query).split(" WHERE ", 1)[1]
    assert '"microchip" = 076000000000001' in where and "tutor_id" not in where and ">=" not in where


def test_tutor_filter_inlines_ids_up_to_the_limit_then_uses_a_subquery(make_tutor, monkeypatch):
    monkeypatch.setattr(search, "MAX_INLINE_TUTOR_IDS", 2)
    t1, t2 = make_tutor(name="Maria Um"), make_tutor(name="Maria Dois")
    inline = search._tutor_filter("maria")
    assert inline.children == [("tutor_id__in", [t1.pk, t2.pk])] or inline.children == [
        ("tutor_id__in", [t2.pk, t1.pk])]
    make_tutor(name="Maria Tres")
    sub = search._tutor_filter("maria")
    (lookup, value), = sub.children
    assert lookup == "tutor_id__in" and not isinstance(value, list)
    assert sorted(value) == sorted(Tutor.objects.filter(name__startswith="Maria").values_list("id", flat=True))
    assert search._tutor_filter("ninguem") == Q(pk__in=[])


def test_subquery_path_finds_the_animals(make_tutor, make_animal, monkeypatch):
    monkeypatch.setattr(search, "MAX_INLINE_TUTOR_IDS", 1)
    tutors = [make_tutor(name=f"Carla {i}") for i in range(3)]
    animals = [make_animal(name=f"Pet {i}", tutor=t) for i, t in enumerate(tutors)]
    assert list(search.animal_queryset("carla")) == animals


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
    assert search.animal_queryset("").query.order_by == ("search_name", "id")


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
