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
    ("12³4", True), ("１２３", True),   # a superscript is dropped, not an error; full-width digits count
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


# --- e-mails: the whole address filters, in the exact and the typo pass --------------------------

def test_every_e_mail_of_the_query_must_match_the_whole_address(make_tutor):
    """The index is probed with the part before '@'; each address must then match whole,
    the second one too ('bia' is in Bia's name, but her address is not bia@outro.com)."""
    make_tutor(name="Bia Souza", email="ana@exemplo.com")
    assert _tutors("ana@exemplo.com bia@outro.com") == []
    assert [t.name for t in _tutors("ana@exemplo.com bia")] == ["Bia Souza"]


@pytest.mark.parametrize("address", ["ab@exemplo.com", "ana@exemplo.com"])
def test_an_e_mail_is_matched_in_the_e_mail_field_not_in_a_name(make_tutor, address):
    """Whether the index is probed with the whole address (short local part) or its local
    part, the address must be the tutor's e-mail: a name that holds it is not a match."""
    owner = make_tutor(name="Bia Souza", email=address)
    make_tutor(name=f"Recado {address}", email="")
    assert _tutors(address) == [owner]


def test_a_typo_next_to_an_e_mail_keeps_the_whole_address(make_tutor, make_animal):
    """'Tohr ana@exemplo.com': the typo pass must not widen the address to every 'ana'."""
    make_animal(name="Thor", tutor=make_tutor(name="Ana Lima", email="ana@exemplo.com"))
    make_animal(name="Thor", tutor=make_tutor(name="Ana Reis", email="ana@outro.com"))
    result = search.search_animals("Tohr ana@exemplo.com")
    assert result.approximate
    assert [a.tutor.name for a in search.ordered(Animal.objects.all(), result.ids)] == ["Ana Lima"]


def test_no_typo_pass_when_every_word_exists_on_its_own(make_tutor, make_animal, django_assert_num_queries):
    """'Thor Zebra': both words are in the index, only never together. The typo pass has
    nothing to loosen, so after probing each word it asks the index nothing more:
    count (how broad), the ranked query, one probe per word."""
    make_animal(name="Thor", tutor=make_tutor(name="Bia Lima"))
    make_animal(name="Bidu", tutor=make_tutor(name="Ana Zebra"))
    with django_assert_num_queries(4):
        result = search.search_tutors("Thor Zebra")
    assert result.ids == [] and not result.approximate


# --- archived animals: the count shown when no active one matches --------------------------------

def test_the_archived_count_is_of_exact_matches_only(make_animal):
    make_animal(name="Thor", is_active=False)
    result = search.search_animals("tohr")
    assert result.ids == [] and result.archived == 0     # 'Thor' is near 'tohr', but not a match
    assert search.search_animals("thor").archived == 1


def test_the_archived_count_keeps_the_species_filter(make_animal):
    make_animal(name="Rex", species="cat", is_active=False)
    assert search.search_animals("rex", species="dog").archived == 0
    assert search.search_animals("rex", species="cat").archived == 1


def test_the_archived_count_stops_at_one_hundred(make_tutor, make_animal):
    tutor = make_tutor(name="Ana Lima")
    for i in range(101):
        make_animal(name=f"Rex {i}", tutor=tutor, is_active=False)
    result = search.search_animals("rex")
    assert (result.archived, result.archived_more) == (100, True)


# --- the CSV export with a query --------------------------------------------------------------------

def _exported(q, **kw):
    return [a.pk for a in search.export_animals(q, **kw)]


def test_the_export_of_a_search_keeps_the_species_and_active_filters(make_tutor, make_animal):
    tutor = make_tutor(name="Ana Lima")
    dog = make_animal(name="Thor", tutor=tutor)
    cat = make_animal(name="Thor", tutor=tutor, species="cat")
    old = make_animal(name="Thor", tutor=tutor, is_active=False)
    assert _exported("thor", species="dog", active="1") == [dog.pk]
    assert _exported("thor", species="cat", active="1") == [cat.pk]
    assert _exported("thor", species="dog", active="0") == [old.pk]
    assert sorted(_exported("thor", species="", active="")) == sorted([dog.pk, cat.pk, old.pk])


def test_the_export_of_a_search_is_not_cut_at_the_screen_limit(make_tutor, make_animal, monkeypatch):
    tutor = make_tutor(name="Ana Lima")
    animals = [make_animal(name=f"Thor {i}", tutor=tutor) for i in range(5)]
    monkeypatch.setattr(search, "MAX_RESULTS", 3)
    assert search.search_animals("thor").truncated
    assert sorted(_exported("thor")) == sorted(a.pk for a in animals)


def test_the_export_loads_the_ranked_ids_in_batches_without_losing_one(make_tutor, make_animal, monkeypatch):
    tutor = make_tutor(name="Ana Lima")
    for i in range(7):
        make_animal(name=f"Thor {'x' * i}", tutor=tutor)
    ranked = search.search_animals("thor").ids
    monkeypatch.setattr(search, "EXPORT_BATCH", 2)
    assert _exported("thor") == ranked


@pytest.mark.parametrize("q", ["", "thor"])
def test_exported_rows_carry_their_tutor_and_species(make_tutor, make_animal, django_assert_num_queries, q):
    """The CSV reads the tutor's and the species' columns of every row: no query per row."""
    for i in range(3):
        make_animal(name=f"Thor {i}", tutor=make_tutor(name=f"Tutor {i}"), species="cat" if i else "dog")
    rows = list(search.export_animals(q))
    assert len(rows) == 3
    with django_assert_num_queries(0):
        assert sorted((a.tutor.name, a.species.name) for a in rows) == [
            ("Tutor 0", "Cão"), ("Tutor 1", "Gato"), ("Tutor 2", "Gato")]


def test_an_empty_result_is_an_empty_page(db):
    page = search.DeferredJoinPaginator(Animal.objects.order_by("id"), 5).page(1)
    assert len(page) == 0 and list(page) == [] and not page.has_next()


# --- how many rows a search keeps, and says it cut ------------------------------------------------

@pytest.mark.parametrize(("q", "how"), [("thor", "the index"), ("th", "a name prefix")])
def test_a_search_keeps_limit_rows_and_says_it_cut_only_when_there_were_more(make_tutor, make_animal, q, how):
    tutor = make_tutor(name="Ana Lima")
    for i in range(3):
        make_animal(name=f"Thor {i}", tutor=tutor)
    assert (len(search.search_animals(q, limit=2).ids), search.search_animals(q, limit=2).truncated) == (2, True)
    assert (len(search.search_animals(q, limit=3).ids), search.search_animals(q, limit=3).truncated) == (3, False)


def test_a_number_that_matches_nothing_asks_the_index_once(make_tutor, django_assert_num_queries):
    """No typo pass for a number, even one with alternatives: count (how broad), the query."""
    make_tutor(name="Ana Lima", phone="21987654321")
    with django_assert_num_queries(2):
        assert search.search_tutors("(11) 8765-4321").ids == []
