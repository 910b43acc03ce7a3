"""registry/search.py, the parts a receptionist notices only sometimes: phone numbers
typed with a trunk or country prefix, LIKE wildcards in short terms, how many typos a
word of each length forgives, which words the typo pass can still find, why each tutor
matched, the export's defaults and the order of typo-tolerant hits when a query is broad.

Runs on SQLite (the mutation run's database); test_postgres.py re-runs the search suites
on PostgreSQL."""

from __future__ import annotations

import pytest
from django.urls import reverse
from registry import search
from registry.models import Animal

from .test_search import found, found_tutors

pytestmark = pytest.mark.django_db




# --- phone numbers ---------------------------------------------------------------------

@pytest.mark.parametrize(("digits", "alternatives"), [
    ("11987654321", ("11987654321",)),                               # DDD + 9 digits
    ("5511987654321", ("5511987654321", "11987654321")),             # +55
    ("011987654321", ("011987654321", "11987654321")),               # 0 + DDD (trunk prefix)
    ("01133334444", ("01133334444", "1133334444")),                  # 0 + DDD + landline
    ("1187654321", ("1187654321", "11987654321")),                   # a mobile written before the extra 9
    ("551187654321", ("551187654321", "1187654321", "11987654321")),
    ("1133334444", ("1133334444",)),                                 # a landline: no 9 added
    ("1153334444", ("1153334444",)),
    ("987654321", ("987654321",)),                                   # no DDD
    ("55987654321", ("55987654321",)),                               # 11 digits: not +55 (DDD 55 is Rio Grande do Sul)
    ("2181234567", ("2181234567", "21981234567")),                   # the digit after the DDD decides ...
    ("1158765432", ("1158765432",)),                                 # ... not the one after it
])
def test_phone_alternatives(digits, alternatives):
    assert search._phone_alternatives(digits) == alternatives


def test_a_trunk_prefix_is_dropped_and_the_ddd_kept(make_tutor):
    """'011 98765-4321' is São Paulo's number, not Rio's with the same 8 digits."""
    make_tutor(name="Ana Paulista", phone="11987654321")
    make_tutor(name="Bia Carioca", phone="21987654321")
    assert found_tutors("011 98765-4321") == ["Ana Paulista"]
    assert found_tutors("+55 21 98765-4321") == ["Bia Carioca"]
    assert found_tutors("021 8765-4321") == ["Bia Carioca"]        # old 8-digit mobile, trunk prefix
    assert sorted(found_tutors("98765-4321")) == ["Ana Paulista", "Bia Carioca"]


# --- LIKE wildcards in short terms ------------------------------------------------------------

def test_like_escape():
    assert search.like_escape("50%_a\\b") == "50\\%\\_a\\\\b"
    assert search.like_escape("maria") == "maria"


@pytest.mark.parametrize("q", ["thor %", "thor _", "thor %%", "thor \\", "% thor", "_ thor"])
def test_a_short_wildcard_term_is_a_literal_character(make_animal, q):
    """A 1-2 character term filters as a word prefix: '%' must not match every word."""
    make_animal(name="Thor")
    assert found(q) == []


def test_a_short_term_still_filters_by_word_prefix(make_animal, make_tutor):
    make_animal(name="Thor", tutor=make_tutor(name="Ana Souza"))
    make_animal(name="Thor", tutor=make_tutor(name="Bia Lima"))
    assert [a.tutor.name for a in search.ordered(Animal.objects.all(), search.search_animals("thor so").ids)] \
        == ["Ana Souza"]


# --- typo tolerance -------------------------------------------------------------------------

@pytest.mark.parametrize(("term", "edits"), [
    ("", 0), ("abc", 0), ("abcd", 1), ("abcdef", 1), ("abcdefg", 2), ("abcdefghijkl", 2),
])
def test_allowed_edits_by_length(term, edits):
    assert search.allowed_edits(term) == edits


@pytest.mark.parametrize(("a", "b", "distance"), [
    ("", "", 0), ("", "abc", 3), ("abc", "", 3), ("thor", "thor", 0),
    ("thor", "tohr", 1),            # adjacent transposition
    ("thor", "thr", 1), ("thr", "thor", 1),          # one missing / one extra
    ("abc", "abxc", 1), ("abxc", "abc", 1),
    ("thor", "thxr", 1),            # one wrong
    ("kitten", "sitting", 3),
    ("ca", "abc", 3),               # optimal string alignment: no edit of a transposed pair
    ("margarida", "marxarixa", 2),
    ("abcdef", "badcfe", 3),
    ("ana", "a", 2), ("aaa", "a", 2), ("bob", "b", 2),   # a transposition needs two letters of each word
])
def test_edit_distance(a, b, distance):
    assert search.edit_distance(a, b) == distance


def test_four_and_five_letter_names_forgive_one_typo_only(make_animal):
    for name in ("Bidu", "Thor", "Amora"):
        make_animal(name=name)
    assert found("Bidy") == ["Bidu"]       # the last letter wrong
    assert found("Xhor") == ["Thor"]       # the first letter wrong
    assert found("Amorx") == ["Amora"]
    assert found("Amxrx") == []            # two typos in five letters: too far
    assert found("Xidy") == []


def test_an_animal_s_own_name_ranks_before_its_tutor_s(make_tutor, make_animal):
    """The engine's ranking (bm25 on SQLite, word_similarity of the query on PostgreSQL), not
    the alphabet: 'Amora', whose tutor is a Thor, comes after the animal named Thor."""
    make_animal(name="Amora", tutor=make_tutor(name="Thor Lima"))
    make_animal(name="Thor", tutor=make_tutor(name="Ana Souza"))
    assert found("thor") == ["Thor", "Amora"]
    assert found("tohr") == ["Thor", "Amora"]      # the typo pass ranks the same way


def test_the_order_of_the_words_does_not_change_the_ranking(make_tutor, make_animal):
    """'thor lima' and 'lima thor' rank alike: each word weighs the same wherever it is typed
    (on PostgreSQL, word_similarity of the whole query, words joined by a space)."""
    make_animal(name="Thor", tutor=make_tutor(name="Ana Lima"))
    make_animal(name="Lima", tutor=make_tutor(name="Thor Souza"))
    assert sorted(found("thor lima")) == ["Lima", "Thor"]
    assert found("thor lima") == found("lima thor")


def test_one_extra_letter_in_the_middle_of_five(make_animal):
    """'Bixdu': only dropping the middle letter gives back 'bidu' (its halves are too short to probe)."""
    make_animal(name="Bidu")
    assert found("Bixdu") == ["Bidu"]


def test_two_extra_letters_side_by_side(make_animal):
    """'Mimssosa': a slip that types two letters at once; the two-edit probe around that pair
    ('mim' + 'osa') is the only one that still finds 'Mimosa'."""
    make_animal(name="Mimosa")
    assert found("Mimssosa") == ["Mimosa"]


def test_a_double_quote_inside_a_word_is_searched_literally(make_animal):
    """The FTS5 string doubles an embedded quote: no syntax error, and the word itself is found."""
    make_animal(name='Lu"a')
    make_animal(name="Lua")
    assert found('lu"a') == ['Lu"a']
    assert found('"lu"a"') == ['Lu"a']   # the quotes at the edges are punctuation


def test_seven_letters_or_more_forgive_two_typos_anywhere(make_animal):
    make_animal(name="Margarida")
    make_animal(name="Marcela")
    assert found("Marxarixa") == ["Margarida"]     # two wrong letters inside the word
    assert found("Xargarixa") == ["Margarida"]
    assert found("Mxrgaxida") == ["Margarida"]
    assert found("Marxxrixa") == []                 # three
    result = search.search_animals("Marxarixa")
    assert result.approximate


@pytest.mark.parametrize(("term", "variants"), [
    ("tho", [("tho",), ("hto",), ("toh",)]),
    ("thor", [("thor",), ("htor",), ("tohr",), ("thro",), ("hor",), ("tho",)]),
])
def test_typo_variants_of_short_words(term, variants):
    assert search.typo_variants(term) == variants


def test_typo_hits_keep_the_ranking_when_the_query_is_broad(make_animal, monkeypatch):
    """The typo pass ranks its candidates even when more than BROAD_MATCHES documents
    match (the exact pass would list the newest first): the closest name comes first."""
    monkeypatch.setattr(search, "BROAD_MATCHES", 1)
    make_animal(name="Thor")
    make_animal(name="Thor Junior")
    make_animal(name="Thorzinho Pequeno")
    assert found("Tohr") == ["Thor", "Thor Junior", "Thorzinho Pequeno"]


# --- why each tutor matched ---------------------------------------------------------------------

@pytest.fixture
def jose(make_tutor, make_animal):
    tutor = make_tutor(name="José da Conceição", cpf="52998224725", phone="11987654321",
                       phone_secondary="1133334444", email="Jose.Conceicao@Exemplo.com.br")
    make_animal(name="Pipoca", tutor=tutor)
    return tutor


@pytest.mark.parametrize(("q", "labels"), [
    ("conceicao", ["nome", "e-mail"]),           # the surname is in the address too
    ("jose da", ["nome", "e-mail"]),
    ("pipoca", ["nome de animal"]),
    ("529.982.247-25", ["CPF"]),
    ("(11) 3333-4444", ["telefone"]),
    ("11 98765-4321", ["telefone"]),
    ("jose.conceicao@exemplo.com.br", ["e-mail"]),
    ("jose pipoca", ["nome", "nome de animal", "e-mail"]),      # in display order
])
def test_why_a_tutor_matched(jose, q, labels):
    result = search.search_tutors(q)
    assert result.ids == [jose.pk]
    assert search.explain_tutor(result, jose) == labels


def test_a_tutor_found_by_a_typo_says_parecido(jose):
    result = search.search_tutors("Pipcoa")
    assert result.ids == [jose.pk] and result.approximate
    assert search.explain_tutor(result, jose) == ["nome de animal (parecido)"]


# --- the export's defaults ----------------------------------------------------------------------

def test_export_without_arguments_is_every_active_animal_in_name_order(make_animal):
    make_animal(name="Thor"), make_animal(name="Amora", species="cat")
    make_animal(name="Bidu", is_active=False)
    assert [a.name for a in search.export_animals()] == ["Amora", "Thor"]


def test_export_without_a_query_keeps_the_filters(make_animal):
    make_animal(name="Thor"), make_animal(name="Amora", species="cat")
    make_animal(name="Mia", species="cat", is_active=False)
    assert [a.name for a in search.export_animals("", species="cat")] == ["Amora"]
    assert [a.name for a in search.export_animals("  ", species="cat", active="0")] == ["Mia"]
    assert [a.name for a in search.export_animals(None, active="")] == ["Amora", "Mia", "Thor"]


# --- short terms that are digits; the broad-query threshold -------------------------------------

def test_a_short_number_filters_the_identifiers(make_animal, make_tutor):
    # every identifier fixed: "42" is only in Ana's animal's microchip, "13" in none
    make_animal(name="Thor", microchip="076000000000042",
                tutor=make_tutor(name="Ana", cpf="11144477735", phone="11987650000"))
    make_animal(name="Thor", microchip="076000000000777",
                tutor=make_tutor(name="Bia", cpf="52998224725", phone="11987650000"))
    result = search.search_animals("thor 42")
    assert [a.tutor.name for a in search.ordered(Animal.objects.all(), result.ids)] == ["Ana"]
    assert found("thor 13") == []


def test_exactly_broad_matches_are_still_ranked(make_tutor, monkeypatch):
    tutor = make_tutor(name="Ana Silva")
    for name in ("Silvano", "Bidu", "Nina", "Mel"):
        Animal.objects.create(name=name, species_id="dog", tutor=tutor)
    monkeypatch.setattr(search, "BROAD_MATCHES", 4)
    assert found("silva")[0] == "Silvano"                  # 4 matches, not more than 4: ranked
    monkeypatch.setattr(search, "BROAD_MATCHES", 3)
    assert found("silva") == ["Mel", "Nina", "Bidu", "Silvano"]   # newest first


def test_an_approximate_hit_marks_only_the_fields_near_the_typo(make_tutor, make_animal):
    """A word too short to forgive a typo (3 letters) is exact: it makes no field
    "parecido", not even an empty one."""
    thor = make_animal(name="Thor", tutor=make_tutor(name="Ana Souza", cpf="11144477735", phone="11987650000"))
    result = search.search_animals("Tohr Ana")
    assert result.ids == [thor.pk] and result.approximate
    assert search.explain_animal(result, thor) == ["nome (parecido)", "tutor"]


@pytest.mark.parametrize("term", ["thor", "amora", "bolinha", "margarida", "conceicao"])
def test_typo_probes_never_ask_for_more_than_the_word(term):
    """Each probe is made of pieces of the word, in order, without overlap: no probe
    needs more text than the word has, and each keeps most of it."""
    for variant in search.typo_variants(term):
        assert sum(map(len, variant)) <= len(term), variant
        assert sum(map(len, variant)) >= max(3, len(term) - 1 - search.allowed_edits(term)), variant
        assert all(len(p) >= 3 for p in variant), variant


def test_a_word_found_somewhere_stays_exact_in_the_typo_pass(make_tutor, make_animal):
    """Only the words found nowhere are taken as typos: 'Souza' exists, so 'Tohr Souza'
    is every Souza's animal near 'tohr', not also a Sousa's."""
    make_animal(name="Thor", tutor=make_tutor(name="Ana Souza", cpf="11144477735"))
    make_animal(name="Thor", tutor=make_tutor(name="Bia Sousa", cpf="52998224725"))
    result = search.search_animals("Tohr Souza")
    assert result.approximate
    assert [a.tutor.name for a in search.ordered(Animal.objects.all(), result.ids)] == ["Ana Souza"]


def test_a_search_keeps_the_species_and_archive_filters(make_animal):
    make_animal(name="Thor")
    thor_cat = make_animal(name="Thor", species="cat")
    make_animal(name="Thor", species="cat", is_active=False)
    result = search.search_animals("thor", species="cat")
    assert result.ids == [thor_cat.pk]
    assert len(search.search_animals("thor", species="cat", active="").ids) == 2
    assert len(search.search_animals("thor", active="0").ids) == 1


# --- what a query is parsed into ------------------------------------------------------------------

T = search.Term


@pytest.mark.parametrize(("q", "terms"), [
    ("Thor", [T("name", "thor", ("thor",))]),
    ("529.982.247-25", [T("digits", "52998224725", ("52998224725",))]),
    ("(11) 8765-4321", [T("digits", "1187654321", ("1187654321", "11987654321"))]),
    # the index is probed with the part before "@" (a shared domain is in most documents)
    ("Jose.Conceicao@Exemplo.com.br", [T("email", "jose.conceicao@exemplo.com.br", ("jose.conceicao",))]),
    ("ab@exemplo.com", [T("email", "ab@exemplo.com", ("ab@exemplo.com",))]),   # too short to probe alone
    ("ana@exemplo.com", [T("email", "ana@exemplo.com", ("ana",))]),              # three letters are enough
    ("thor 42", [T("name", "thor", ("thor",)), T("digits", "42", ("42",))]),  # longest first
    ("Thor² ", [T("name", "thor", ("thor",))]),          # a superscript is dropped, not an error
    ("①", []),
    ("  ", []),
    (None, []),
    ("thor ! , rex", [T("name", "thor", ("thor",)), T("name", "rex", ("rex",))]),  # lone punctuation skipped
    ("a" * 250, [T("name", "a" * 200, ("a" * 200,))]),   # a pasted paragraph is cut at 200 characters
])
def test_parse(q, terms):
    assert search.parse(q) == terms


def test_numeric_characters_that_are_not_digits_do_not_break_the_search(make_animal, reception_client):
    thor = make_animal(name="Thor")
    assert search.search_animals("Thor²").ids == [thor.pk]
    page = reception_client.get(reverse("animal_list"), {"q": "Thor½"})
    assert page.status_code == 200 and "Thor" in page.content.decode()


def test_an_email_matches_the_whole_address_not_only_its_probe(make_tutor):
    """The index is probed with the part before "@"; the whole address must still match."""
    make_tutor(name="Ana Lima", cpf="11144477735", email="ana.lima@exemplo.com.br")
    make_tutor(name="Ana Outra", cpf="52998224725", email="ana.lima@outro.com")
    assert found_tutors("ana.lima@exemplo.com.br") == ["Ana Lima"]
    assert found_tutors("ANA.LIMA@OUTRO.COM") == ["Ana Outra"]
