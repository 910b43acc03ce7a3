"""Search that finds: words in any order across tutor and animal, accents, typos,
identifiers in any format, engine syntax never interpreted, the index kept in
sync on every write path, ranking, why each row matched, and what the page says
when nothing matches. Runs on SQLite (FTS5 trigram) and, through
test_postgres.py, on PostgreSQL (pg_trgm + unaccent)."""

from __future__ import annotations

import csv
import io

import pytest
from django.core import checks
from django.db import connection
from django.urls import reverse
from registry import search, search_index
from registry.models import Animal, Tutor

from .factories import make_cpf

pytestmark = pytest.mark.django_db


def found(q, **kw) -> list[str]:
    result = search.search_animals(q, **kw)
    return [a.name for a in search.ordered(Animal.objects.all(), result.ids)]


def found_tutors(q) -> list[str]:
    return [t.name for t in search.ordered(Tutor.objects.all(), search.search_tutors(q).ids)]


@pytest.fixture
def clinic(make_tutor, make_animal):
    jose = make_tutor(name="José da Conceição", cpf="52998224725", phone="11987654321",
                      phone_secondary="1133334444", email="Jose.Conceicao@Exemplo.com.br")
    ana = make_tutor(name="Ana Beatriz Souza", phone="21912345678")
    ze = make_tutor(name="Zé Lima", phone="31988887777")
    luna_prado = make_tutor(name="Luna Prado", phone="41999990000")
    return {
        "jose": jose, "ana": ana, "ze": ze,
        "thor": make_animal(name="Thor", tutor=jose, microchip="076000000424242"),
        "mel": make_animal(name="Mel", tutor=jose, species="cat"),
        "luna": make_animal(name="Luna", tutor=ana, species="cat", microchip="985112233445566"),
        "bidu": make_animal(name="Bidu", tutor=luna_prado),
        "xuxa": make_animal(name="Xuxa", tutor=ze),
        "velho": make_animal(name="Thorzinho", tutor=ana, is_active=False),
    }


@pytest.mark.parametrize(("q", "expected"), [
    ("Thor Conceição", ["Thor"]),            # animal + tutor, in any order
    ("conceicao thor", ["Thor"]),
    ("José Conceição", ["Mel", "Thor"]),     # first name + surname with "da" between
    ("JOSE CONCEICAO", ["Mel", "Thor"]),     # case and accents
    ("jose   conceicao  mel", ["Mel"]),
    ("beatriz luna", ["Luna"]),
    ("Thor Souza", []),                      # every word must match the same animal
])
def test_words_in_any_order_across_tutor_and_animal(clinic, q, expected):
    assert sorted(found(q)) == expected


@pytest.mark.parametrize(("q", "expected"), [
    ("529.982.247-25", ["Mel", "Thor"]),     # CPF with punctuation
    ("52998224725", ["Mel", "Thor"]),        # CPF digits
    ("529982", ["Mel", "Thor"]),             # the start of a CPF
    ("(11) 98765-4321", ["Mel", "Thor"]),    # phone with DDD
    ("11 98765 4321", ["Mel", "Thor"]),
    ("+55 11 98765-4321", ["Mel", "Thor"]),  # country code
    ("011 98765-4321", ["Mel", "Thor"]),     # trunk prefix
    ("98765-4321", ["Mel", "Thor"]),         # without DDD
    ("8765-4321", ["Mel", "Thor"]),          # the old 8-digit mobile number
    ("(11) 8765-4321", ["Mel", "Thor"]),     # old number with DDD (before the extra 9)
    ("3333-4444", ["Mel", "Thor"]),          # second phone
    ("jose.conceicao@exemplo.com.br", ["Mel", "Thor"]),  # e-mail, case-insensitive
    ("JOSE.CONCEICAO@EXEMPLO.COM.BR", ["Mel", "Thor"]),
    ("076000000424242", ["Thor"]),           # microchip
    ("076 000 000 424 242", ["Thor"]),
    ("424242", ["Thor"]),                    # its last digits
    ("5566", ["Luna"]),
    ("thor 4242", ["Thor"]),                 # a name and digits together
])
def test_identifiers_in_any_format(clinic, q, expected):
    assert sorted(found(q)) == expected


def test_typo_tolerance_offers_the_nearest_hits(clinic):
    for q in ("Tohr", "Thorr", "Conseição thor", "Concicao thor", "Conceisão Thor"):
        result = search.search_animals(q)
        assert result.approximate, q
        assert [a.name for a in search.ordered(Animal.objects.all(), result.ids)] == ["Thor"], q
    # exact matches are never mixed with approximate ones
    assert not search.search_animals("Thor").approximate
    # a word unlike any name finds nothing rather than noise
    assert found("Xablau") == []


def test_short_terms(clinic):
    assert found("Zé") == ["Xuxa"]                 # all short: name prefix (tutor or animal)
    assert found("ze xuxa") == ["Xuxa"]            # short term filters the indexed one
    assert found("me") == ["Mel"]
    assert found("Zé Thor") == []
    assert found_tutors("zé") == ["Zé Lima"]


@pytest.mark.parametrize("q", [
    '"', '""', '"thor', 'thor"', "*", "thor*", "^thor", "NEAR(thor mel)", "thor AND mel", "thor OR mel",
    "NOT thor", "thor NOT mel", "-thor", "name:thor", "{name}: thor", "tutor : jose", "%", "%%", "_", "__",
    "th_r", "th%r", "\\", "thor\\", "'", "o'brien", "(thor)", "thor)", "[thor]", "+thor", "a:b:c", "\x00",
])
def test_user_input_is_never_engine_syntax(clinic, reception_client, q):
    response = reception_client.get(reverse("animal_list"), {"q": q})
    assert response.status_code == 200
    result = response.context["result"]
    if result is None:  # refused by the form (a NUL character): the plain list
        assert q == "\x00"
        return
    names = [a.name for a in search.ordered(Animal.objects.all(), result.ids)]
    if q in ("(thor)", "thor)", "[thor]", '"thor', 'thor"'):  # punctuation around a word, not syntax
        assert names == ["Thor"]
    else:  # nothing in the clinic contains these characters or words: no exact match
        assert result.approximate or names == [], (q, names)
    assert reception_client.get(reverse("tutor_list"), {"q": q}).status_code == 200


def test_older_microchip_formats_are_found(make_tutor, make_animal):
    tutor = make_tutor(name="Dona Antiga")
    make_animal(name="Hexa", tutor=tutor, microchip="0A1B2C3D4E")
    make_animal(name="Avid", tutor=tutor, microchip="012345678")
    assert found("0a1b2c3d4e") == ["Hexa"] and found("2C3D") == ["Hexa"]
    assert found("012345678") == ["Avid"]


def test_wildcards_are_literal(make_tutor, make_animal):
    tutor = make_tutor(name="Carla O'Brien")
    make_animal(name="100% Amor", tutor=tutor)
    make_animal(name="Rex_1", tutor=tutor)
    make_animal(name="Rexa", tutor=tutor)
    make_animal(name='Bolt "o raio"', tutor=tutor)
    assert found("100%") == ["100% Amor"]
    assert found("rex_") == ["Rex_1"]           # "_" is not "any character"
    assert sorted(found("rex")) == ["Rex_1", "Rexa"]
    assert found("o'brien amor") == ["100% Amor"]
    assert found('"o raio"') == ['Bolt "o raio"']
    assert found("%%%") == [] and found("___") == []
    # operators would have found something: they are text
    assert found("thor OR mel") == [] and found("NOT thor") == [] and found("*") == []
    assert found("mel NEAR thor") == [] and found("thor AND mel") == []


def test_index_follows_every_write_path(make_tutor, make_animal, root_client):
    tutor = make_tutor(name="Paulo Mendes", phone="11912341234")
    rex = make_animal(name="Rex", tutor=tutor)                       # create (save)
    assert found("rex mendes") == ["Rex"] and found_tutors("paulo rex") == ["Paulo Mendes"]

    rex.name = "Rexão"
    rex.save()                                                        # edit (save)
    assert found("rexao") == ["Rexão"] and found_tutors("rexao") == ["Paulo Mendes"]

    Animal.objects.filter(pk=rex.pk).update(name="Fumaça")           # QuerySet.update, no save()
    assert found("rexao") == [] and found("fumaca mendes") == ["Fumaça"]
    assert found_tutors("fumaca") == ["Paulo Mendes"]

    Tutor.objects.filter(pk=tutor.pk).update(name="Paula Mendes", phone="11955556666")
    assert found("fumaca paula") == ["Fumaça"] and found("5555-6666") == ["Fumaça"]
    assert found("1234-1234") == []

    other = make_tutor(name="Rita Moraes")
    Animal.objects.filter(pk=rex.pk).update(tutor=other)             # animal moves to another tutor
    assert found("fumaca rita") == ["Fumaça"] and found("fumaca paula") == []
    assert found_tutors("fumaca") == ["Rita Moraes"]

    Animal.objects.bulk_create([Animal(name="Pipoca", species_id="cat", tutor=other)])  # bulk
    assert found("pipoca rita") == ["Pipoca"]

    Animal.objects.filter(name="Pipoca").update(is_active=False)     # archive
    assert found("pipoca") == [] and found("pipoca", active="0") == ["Pipoca"]

    response = root_client.post(reverse("admin:registry_tutor_change", args=[other.pk]), {
        "name": "Rita de Cássia Moraes", "cpf": "", "phone": "11977778888", "phone_secondary": "",
        "email": "", "cep": "", "street": "", "number": "", "complement": "", "neighbourhood": "",
        "city": "", "uf": "", "notes": "", "seen_version": "1"})  # issue 13: the admin checks the version
    assert response.status_code == 302 and "/login/" not in response["Location"], response.content.decode()[:2000]
    assert found("cassia fumaca") == ["Fumaça"]                       # admin

    Animal.objects.filter(tutor=other).delete()                        # delete
    assert found("fumaca") == [] and found_tutors("fumaca") == []
    Tutor.objects.filter(pk=other.pk).delete()
    assert found_tutors("cassia") == []


def test_rebuild_reproduces_the_trigger_maintained_index(clinic):
    before = {q: found(q) for q in ("jose", "thor", "5566", "luna", "beatriz")}
    tutors_before = found_tutors("thor")
    search_index.rebuild(connection)
    assert {q: found(q) for q in before} == before
    assert sorted(found_tutors("thor")) == sorted(tutors_before) == ["Ana Beatriz Souza", "José da Conceição"]


def test_ranking_puts_the_animal_name_first(clinic):
    # "luna" is an animal's name (Luna) and another tutor's name (Luna Prado, Bidu's tutor)
    assert found("luna") == ["Luna", "Bidu"]


def test_list_explains_matches_and_empty_results(clinic, reception_client):
    url = reverse("animal_list")
    response = reception_client.get(url, {"q": "thor conceicao"})
    rows = response.context["rows"]
    assert [r["animal"].name for r in rows] == ["Thor"]
    assert rows[0]["why"] == ["nome", "tutor", "e-mail do tutor"]  # jose.conceicao@...
    assert "Encontrado por: nome, tutor, e-mail do tutor" in response.content.decode()
    assert reception_client.get(url, {"q": "529.982.247-25"}).context["rows"][0]["why"] == ["CPF do tutor"]
    assert reception_client.get(url, {"q": "8765-4321"}).context["rows"][0]["why"] == ["telefone do tutor"]
    assert reception_client.get(url, {"q": "424242"}).context["rows"][0]["why"] == ["microchip"]

    html = reception_client.get(url, {"q": "Tohr"}).content.decode()
    assert "Nenhum resultado exato para “Tohr”" in html and "nome (parecido)" in html

    html = reception_client.get(url, {"q": "Xablau"}).content.decode()
    assert "Nenhum animal encontrado para “Xablau”" in html

    # only an archived animal matches: say so and link to it
    response = reception_client.get(url, {"q": "thorzinho"})
    assert response.context["rows"] == []
    html = response.content.decode()
    assert "1 animal arquivado corresponde à busca" in html and "active=0" in html
    archived = reception_client.get(url, {"q": "thorzinho", "active": "0"})
    assert [r["animal"].name for r in archived.context["rows"]] == ["Thorzinho"]


def test_tutor_list_and_picker(clinic, reception_client):
    response = reception_client.get(reverse("tutor_list"), {"q": "conceicao jose"})
    tutors = response.context["page"].object_list
    assert [t.name for t in tutors] == ["José da Conceição"]
    response = reception_client.get(reverse("tutor_list"), {"q": "mel"})  # by an animal's name
    assert [t.name for t in response.context["page"].object_list] == ["José da Conceição"]
    assert "Encontrado por: nome de animal" in response.content.decode()

    picker = reception_client.get(reverse("animal_create"), {"q": "Jose Conceicao"})
    assert [t.name for t in picker.context["picker_results"]] == ["José da Conceição"]
    picker = reception_client.get(reverse("animal_create"), {"q": "(11) 8765-4321"})
    assert [t.name for t in picker.context["picker_results"]] == ["José da Conceição"]
    assert "Encontrado por: telefone" in picker.content.decode()
    picker = reception_client.get(reverse("animal_create"), {"q": "Consseição"})
    assert [t.name for t in picker.context["picker_results"]] == ["José da Conceição"]
    assert "Nenhum resultado exato" in picker.content.decode()
    html = reception_client.get(reverse("animal_create"), {"q": "Ninguém Aqui"}).content.decode()
    assert "Nenhum tutor encontrado para “Ninguém Aqui”" in html


def test_export_follows_the_search(clinic, admin_client_):
    response = admin_client_.get(reverse("animal_export"), {"q": "jose conceicao"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig")), delimiter=";"))
    assert sorted(r[1] for r in rows[1:]) == ["Mel", "Thor"]


def test_many_results_are_capped_and_said(make_tutor, monkeypatch, reception_client):
    monkeypatch.setattr(search, "MAX_RESULTS", 5)
    tutor = make_tutor(name="Tutor Em Massa", cpf=make_cpf())
    Animal.objects.bulk_create([Animal(name=f"Animal {i:02d}", species_id="dog", tutor=tutor) for i in range(8)])
    result = search.search_animals("massa", limit=search.MAX_RESULTS)
    assert len(result.ids) == 5 and result.truncated
    html = reception_client.get(reverse("animal_list"), {"q": "massa"}).content.decode()
    assert "Busca ampla: mais de 5 resultados; mostrando os primeiros 5." in html


def test_search_uses_the_index(clinic):
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"EXPLAIN QUERY PLAN SELECT rowid FROM {search_index.ANIMAL_DOC} "
                           f"WHERE {search_index.ANIMAL_DOC} MATCH %s", ['"conceicao"'])
            plan = " ".join(str(r) for r in cursor.fetchall())
            assert "VIRTUAL TABLE INDEX" in plan
        else:
            cursor.execute("SET enable_seqscan = off")
            cursor.execute(f"EXPLAIN SELECT id FROM {search_index.PG_ANIMAL_DOC} WHERE doc LIKE %s",
                           ["%conceicao%"])
            plan = " ".join(r[0] for r in cursor.fetchall())
            assert "registry_animal_search_trgm" in plan


def test_engine_check_passes_here_and_names_the_problem_elsewhere(db):
    from registry.checks import search_engine_check

    assert search_engine_check(databases=["default"]) == []
    assert search_index.missing_capability(connection) is None

    class Unsupported:
        vendor = "oracle"

    reason = search_index.missing_capability(Unsupported())
    assert "SQLite (FTS5) or PostgreSQL (pg_trgm, unaccent)" in reason
    registered = checks.registry.registry.get_checks(include_deployment_checks=False)
    assert search_engine_check in registered


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's fold function")
def test_sqlite_writes_without_the_fold_function_fail_loudly(clinic):
    """A client that lacks clinic_fold (the sqlite3 shell) cannot write a stale index."""
    import sqlite3

    connection.ensure_connection()
    plain = sqlite3.connect(":memory:")  # the same database, without the app's functions
    image = bytearray(connection.connection.serialize())
    image[18:20] = b"\x01\x01"  # the test database is a WAL file (issue 13): open its image in rollback mode
    plain.deserialize(bytes(image))
    with pytest.raises(sqlite3.OperationalError, match="clinic_fold"):
        plain.execute("UPDATE registry_animal SET name = 'Outro' WHERE name = 'Thor'")
    plain.close()


def test_broad_queries_list_the_newest_first(make_tutor, monkeypatch):
    monkeypatch.setattr(search, "BROAD_MATCHES", 3)
    tutor = make_tutor(name="Ana Silva")
    for name in ("Silvano", "Silvestre", "Bidu", "Nina", "Mel"):
        Animal.objects.create(name=name, species_id="dog", tutor=tutor)
    assert found("silva") == ["Mel", "Nina", "Bidu", "Silvestre", "Silvano"]   # 5 > 3 matches: newest first
    monkeypatch.setattr(search, "BROAD_MATCHES", 10)
    assert found("silva")[0] == "Silvano"                      # ranked: the name weighs most


def test_a_migration_that_drops_the_triggers_gets_them_back(make_tutor, make_animal):
    """A later migration that alters registry_animal makes SQLite rebuild the table,
    dropping its triggers; post_migrate (sent by every `migrate`) puts them back and
    rebuilds the documents. (Inside the test's transaction: DDL rolls back.)"""
    from django.core.management.sql import emit_post_migrate_signal

    with connection.cursor() as cursor:  # what a table rebuild leaves behind
        for name in (search_index.SQLITE_TRIGGERS if connection.vendor == "sqlite" else search_index.PG_TRIGGERS):
            if connection.vendor == "sqlite":
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
            else:
                table = "registry_animal" if "animal" in name else "registry_tutor"
                cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
    assert search_index.missing_triggers(connection)
    animal = make_animal(name="Pitanga", tutor=make_tutor(name="Odete Quaresma"))  # written while stale
    emit_post_migrate_signal(verbosity=0, interactive=False, db=connection.alias)
    assert search_index.missing_triggers(connection) == []
    assert found("Pitanga Quaresma") == [animal.name]
    Animal.objects.filter(pk=animal.pk).update(name="Jabuticaba")  # and the triggers work again
    assert found("Jabuticaba Quaresma") == ["Jabuticaba"]
