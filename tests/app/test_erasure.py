"""Erasure / anonymisation of a tutor (LGPD art. 18 IV and VI, issue 16).

Administração confirms, then the tutor's personal data is gone from every
place the clinic's system keeps it: every table and text column of the database
(the search index's FTS5 tables and their shadow tables, sessions and sign-in
attempts included), the CSV export, the pages that show the audit trail, the
logs written meanwhile, and the S3 objects of the tutor's animals' photos
(deleted through the photo deletion outbox). The animals and their history stay
under "Tutor anonimizado nº <id>"."""

from __future__ import annotations

import logging

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from registry import consent, lgpd, outbox, search
from registry.models import Animal, AuditEntry, ConsentRecord, MergeRecord, PhotoDeletion, Tutor
from registry.validators import fold

from tests.app.conftest import BUCKET, token_for

from .test_photos import add_photo

pytestmark = pytest.mark.django_db
ADDR = {"REMOTE_ADDR": "192.0.2.44"}

NAME = "Joaquina Bezerra Quixadá"
CPF = "39053344705"
CPF_FMT = "390.533.447-05"
PHONE, PHONE_FMT = "85998761234", "(85) 99876-1234"
PHONE2, PHONE2_FMT = "8532104567", "(85) 3210-4567"
OLD_PHONE, OLD_PHONE_FMT = "85991112222", "(85) 99111-2222"
EMAIL = "joaquina.quixada@exemplo.com.br"
STREET = "Travessa Zuleide Pinheiro"
NOTE = "Vizinha do Sr. Orestes"


def secrets() -> list[str]:
    return [NAME, fold(NAME), "Joaquina", "Quixad", CPF, CPF_FMT, PHONE, PHONE_FMT, PHONE2, PHONE2_FMT,
            OLD_PHONE, OLD_PHONE_FMT, EMAIL, EMAIL.split("@")[0], STREET, NOTE]


def found_in(text: str) -> list[str]:
    low = text.lower()
    return [s for s in secrets() if s.lower() in low]


def scan_database() -> dict[str, list[str]]:
    """Every table of the database, every column (text and blob), every row."""
    hits: dict[str, list[str]] = {}
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        else:
            cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        tables = [row[0] for row in cursor.fetchall()]
        assert "registry_tutor_fts_content" in tables or connection.vendor != "sqlite"  # shadow tables scanned
        for table in tables:
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            for row in cursor.fetchall():
                for value in row:
                    if isinstance(value, (bytes, memoryview)):
                        value = bytes(value).decode("utf-8", "ignore")
                    found = found_in(str(value)) if value is not None else []
                    if found:
                        hits.setdefault(table, []).extend(found)
    # sessions are stored encoded: read them as Django does
    for key in SessionStore.get_model_class().objects.values_list("session_key", flat=True):
        found = found_in(repr(SessionStore(session_key=key).load()))
        if found:
            hits.setdefault("django_session (decoded)", []).extend(found)
    return hits


@pytest.fixture
def victim(reception_client, admin_client_, admin_user, make_tutor, make_animal, s3_bucket):
    """A tutor whose personal data reached every place the app writes it."""
    reception_client.post(reverse("tutor_create"), {
        "name": NAME, "cpf": CPF_FMT, "phone": OLD_PHONE_FMT, "phone_secondary": PHONE2_FMT, "email": EMAIL,
        "cep": "60160-230", "street": STREET, "number": "77", "complement": "casa 2", "neighbourhood": "Aldeota",
        "city": "Fortaleza", "uf": "CE", "notes": NOTE, "consent_photos": "on", "consent_method": "signed"})
    tutor = Tutor.objects.get(cpf=CPF)
    # an edit: the trail now holds the old and the new phone
    reception_client.post(reverse("tutor_edit", args=[tutor.pk]), {
        "name": NAME, "cpf": CPF_FMT, "phone": PHONE_FMT, "phone_secondary": PHONE2_FMT, "email": EMAIL,
        "cep": "60160-230", "street": STREET, "number": "77", "complement": "casa 2", "neighbourhood": "Aldeota",
        "city": "Fortaleza", "uf": "CE", "notes": NOTE, "edit_token": token_for(tutor)})
    consent.record(tutor, "whatsapp", True, "whatsapp", None, note=f"Confirmou pelo {PHONE_FMT}")
    tutor.refresh_from_db()
    rex = make_animal(tutor=tutor, name="Rex", notes=f"Ligar para a tutora no {PHONE_FMT} antes da vacina. Dócil.")
    bibi = make_animal(tutor=tutor, name="Bibi", species="cat")
    photos = [add_photo(reception_client, rex, s3_bucket, "ok"), add_photo(reception_client, bibi, s3_bucket, "ok")]
    # an animal that was hers and moved to someone else: its trail names her
    other = make_tutor(name="Raimundo Nonato", phone="85988880000")
    moved = make_animal(tutor=tutor, name="Pipoca")
    reception_client.post(reverse("animal_edit", args=[moved.pk]), {
        "name": "Pipoca", "species": "dog", "sex": "unknown", "tutor": other.pk, "edit_token": token_for(moved)})
    assert Animal.objects.get(pk=moved.pk).tutor_id == other.pk
    # the Django admin's own log of an edit of her record
    LogEntry.objects.log_actions(admin_user.pk, [tutor], CHANGE, change_message="[]", single_object=True)
    # the reports she asked for
    admin_client_.get(reverse("tutor_data_report", args=[tutor.pk]))
    return {"tutor": tutor, "animals": [rex, bibi], "photos": photos, "moved": moved}


def test_the_scan_sees_personal_data_where_it_is(victim):
    """The scanner itself: before the erasure it finds her everywhere."""
    hits = scan_database()
    index = (("registry_tutor_fts_content", "registry_animal_fts_content") if connection.vendor == "sqlite"
             else ("registry_tutor_search", "registry_animal_search"))
    for table in ("registry_tutor", "registry_auditentry", "registry_animal", "registry_consentrecord",
                  "django_admin_log", *index):
        assert table in hits, table
    assert search.search_tutors(CPF).ids == [victim["tutor"].pk]


def test_confirmation_page_before_nothing_without_confirming(admin_client_, victim):
    tutor = victim["tutor"]
    page = admin_client_.get(reverse("tutor_erase", args=[tutor.pk])).content.decode()
    assert f"Anonimizar os dados de {NAME}?" in page
    assert "2 fotos dos animais" in page and "Não há como desfazer." in page
    assert f"Tutor anonimizado nº {tutor.pk}" in page and 'id="confirm-erase"' in page
    response = admin_client_.post(reverse("tutor_erase", args=[tutor.pk]), {})
    assert response.status_code == 400
    assert "Marque a confirmação para anonimizar os dados deste tutor." in response.content.decode()
    assert Tutor.objects.get(pk=tutor.pk).name == NAME
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.ERASURE).exists()


def test_only_administracao_can_erase(reception_client, vet_client, victim):
    tutor = victim["tutor"]
    for c in (reception_client, vet_client):
        assert c.post(reverse("tutor_erase", args=[tutor.pk]), {"confirm": "on"}).status_code == 403
        assert 'id="tutor-erase"' not in c.get(reverse("tutor_detail", args=[tutor.pk])).content.decode()
    assert Tutor.objects.get(pk=tutor.pk).name == NAME


def test_erasure_leaves_nothing_personal_behind(admin_client_, victim, s3_bucket, settings, caplog):
    tutor, photos = victim["tutor"], victim["photos"]
    settings.PHOTO_DELETE_SETTLE_SECONDS = 0
    assert 'id="tutor-erase"' in admin_client_.get(reverse("tutor_detail", args=[tutor.pk])).content.decode()
    caplog.set_level(logging.DEBUG)

    response = admin_client_.post(reverse("tutor_erase", args=[tutor.pk]), {"confirm": "on"}, **ADDR)
    assert response.status_code == 302 and response["Location"] == reverse("tutor_detail", args=[tutor.pk])
    for _ in range(3):  # the outbox finishes what the request started (its backoff skipped)
        PhotoDeletion.objects.filter(done_at__isnull=True).update(next_attempt_at=timezone.now())
        outbox.process_due()
    assert not PhotoDeletion.objects.filter(done_at__isnull=True).exists()

    # the record: anonymised owner, no identifiers; the animals and their history stay
    t = Tutor.objects.get(pk=tutor.pk)
    assert t.name == f"Tutor anonimizado nº {tutor.pk}" and t.cpf is None
    assert (t.phone, t.phone_secondary, t.email, t.street, t.number, t.cep, t.notes) == ("",) * 7
    assert sorted(Animal.objects.filter(tutor=t).values_list("name", flat=True)) == ["Bibi", "Rex"]
    rex = Animal.objects.get(pk=victim["animals"][0].pk)
    assert rex.notes == "Ligar para a tutora no [anonimizado] antes da vacina. Dócil."
    assert AuditEntry.objects.filter(object_type="animal", object_id=rex.pk, action="photo").count() == 3
    # consent history kept, its notes blank; what was still granted is withdrawn: no new photo
    assert ConsentRecord.objects.filter(tutor=t, granted=True).count() == 2
    assert set(ConsentRecord.objects.filter(tutor=t, granted=True).values_list("note", flat=True)) == {""}
    assert not any(r and r.granted for r in consent.current(t).values())
    assert admin_client_.post(reverse("photo_presign", args=[rex.pk]), {
        "filename": "nova.jpg", "content_type": "image/jpeg", "size": 1000}).status_code == 409

    # the database, every table and column
    assert scan_database() == {}

    # search forgets her: name, CPF (both ways), phones, e-mail
    for term in (CPF, CPF_FMT, PHONE, PHONE_FMT, "99876-1234", PHONE2, EMAIL, "quixada"):
        assert tutor.pk not in search.search_tutors(term).ids, term
    assert not search.search_animals(CPF, "", "").ids
    assert not search.search_animals(PHONE, "", "").ids
    listing = admin_client_.get(reverse("tutor_list"), {"q": CPF}).content.decode()
    assert f"/tutores/{tutor.pk}/" not in listing

    # the trail: her entries redacted (the only change the trail accepts), the erasure recorded
    mine = AuditEntry.objects.filter(object_type="tutor", object_id=tutor.pk)
    redacted = mine.filter(redacted=True)
    assert redacted.count() >= 5 and set(redacted.values_list("old_value", "new_value")) == {("", "")}
    erasure = mine.get(action=AuditEntry.Action.ERASURE)
    assert erasure.ip_address == "192.0.2.44" and erasure.username == "gestor"
    assert erasure.new_value == "Anonimizado: 2 foto(s) excluída(s), " + \
        f"{AuditEntry.objects.filter(redacted=True).count()} registro(s) da trilha anonimizado(s)"
    moved_trail = AuditEntry.objects.get(object_type="animal", object_id=victim["moved"].pk, field="tutor")
    assert moved_trail.redacted and moved_trail.new_value == ""

    # the pages that show the trail and the record, and the CSV export
    pages = {
        "tutor page": admin_client_.get(reverse("tutor_detail", args=[tutor.pk])),
        "animal page": admin_client_.get(reverse("animal_detail", args=[rex.pk])),
        "moved animal page": admin_client_.get(reverse("animal_detail", args=[victim["moved"].pk])),
        "data report": admin_client_.get(reverse("tutor_data_report", args=[tutor.pk])),
        "audit trail reader": admin_client_.get(reverse("audit_list")),
        "audit trail reader, her record": admin_client_.get(reverse("audit_list"),
                                                            {"tipo": "tutor", "registro": tutor.pk}),
    }
    from django.contrib.auth.models import User
    from django.test import Client

    root = Client()
    root.force_login(User.objects.create_superuser("raiz-scan", password="x-Senha-Longa-123"))
    pages["admin trail"] = root.get("/admin/registry/auditentry/")
    pages["admin trail, searched"] = root.get("/admin/registry/auditentry/", {"q": "gestor"})
    for what, page in pages.items():
        assert page.status_code == 200, what
        assert not found_in(page.content.decode()), what
    assert "[anonimizado]" in pages["data report"].content.decode()
    assert f"Tutor anonimizado nº {tutor.pk}" in pages["tutor page"].content.decode()
    assert 'class="audit-redacted" colspan="2">[anonimizado]</td>' in pages["tutor page"].content.decode()
    export = admin_client_.get(reverse("animal_export"))
    csv_text = b"".join(export.streaming_content).decode("utf-8-sig")
    assert f"Tutor anonimizado nº {tutor.pk}" in csv_text
    assert not found_in(csv_text)

    # the logs written meanwhile
    logged = "\n".join(f"{r.name} {r.getMessage()}" for r in caplog.records)
    assert not found_in(logged), found_in(logged)

    # S3: nothing left under the photos' prefixes
    for p in photos:
        for prefix in (f"uploads/{p.photo_id}/", f"processed/{p.photo_id}/"):
            assert s3_bucket.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("KeyCount") == 0, prefix
        done = PhotoDeletion.objects.get(photo_id=p.photo_id)
        assert done.done_at is not None and done.original_name == ""


def test_a_namesake_keeps_their_data_and_history(admin_client_, victim, make_tutor, s3_bucket):
    """The trail is searched for her name, but another tutor's own history
    that holds the same name is theirs, not hers: it stays."""
    namesake = make_tutor(name=NAME, phone="11955554444", email="outra.joaquina@exemplo.com")
    own = AuditEntry.objects.create(object_type="tutor", object_id=namesake.pk, action="create", new_value=NAME)
    admin_client_.post(reverse("tutor_erase", args=[victim["tutor"].pk]), {"confirm": "on"})
    namesake.refresh_from_db()
    assert namesake.name == NAME and namesake.email == "outra.joaquina@exemplo.com"
    own.refresh_from_db()
    assert own.new_value == NAME and not own.redacted
    assert search.search_tutors("11955554444").ids == [namesake.pk]


def test_erasing_twice_changes_nothing(admin_client_, victim, s3_bucket):
    tutor = victim["tutor"]
    admin_client_.post(reverse("tutor_erase", args=[tutor.pk]), {"confirm": "on"})
    changes = AuditEntry.objects.exclude(action=AuditEntry.Action.VIEW).order_by("id")
    before = list(changes.values_list("id", "redacted"))
    response = admin_client_.post(reverse("tutor_erase", args=[tutor.pk]), {"confirm": "on"}, follow=True)
    assert "Este tutor já havia sido anonimizado." in response.content.decode()
    assert list(changes.values_list("id", "redacted")) == before  # only the page view it led to
    assert lgpd.erase(tutor, None).done is False
    page = admin_client_.get(reverse("tutor_erase", args=[tutor.pk])).content.decode()
    assert 'id="already-erased"' in page and 'id="confirm-erase"' not in page


def test_the_django_admin_log_forgets_her(admin_client_, victim, s3_bucket):
    tutor = victim["tutor"]
    admin_client_.post(reverse("tutor_erase", args=[tutor.pk]), {"confirm": "on"})
    entry = LogEntry.objects.get(content_type=ContentType.objects.get_for_model(Tutor), object_id=str(tutor.pk))
    assert entry.object_repr == f"Tutor anonimizado nº {tutor.pk}"


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's secure_delete")
def test_sqlite_erasure_overwrites_freed_space_and_restores_the_setting(victim, admin_user, s3_bucket):
    seen = []

    def spy(execute, sql, params, many, context):
        if "INSERT INTO" in sql and "registry_auditentry" in sql:  # the erasure's own entry, at the end
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA secure_delete")
                seen.append(cursor.fetchone()[0])
        return execute(sql, params, many, context)

    with connection.cursor() as cursor:
        cursor.execute("PRAGMA secure_delete = 0")  # a build without SQLITE_SECURE_DELETE
    with connection.execute_wrapper(spy):
        assert lgpd.erase(victim["tutor"], admin_user).done
    assert seen and set(seen) == {1}
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA secure_delete")
        assert cursor.fetchone()[0] == 0
        cursor.execute("PRAGMA secure_delete = 1")


def test_a_duplicate_merged_into_her_record_goes_with_the_erasure(admin_client_, victim, make_tutor, make_animal,
                                                                   s3_bucket, settings):
    """A second registration of the same person, merged into hers (registry.merge):
    the merge's snapshot of it, its own history and its values are erased too."""
    from .test_merge import compare_page, picks_from, post_merge

    tutor = victim["tutor"]
    dup = make_tutor(name="Joaquina B. Quixadá", phone=OLD_PHONE, email=EMAIL, cpf=None, notes=NOTE)
    make_animal(tutor=dup, name="Faísca", notes=f"Tutora: {OLD_PHONE_FMT}")
    page = compare_page(admin_client_, "tutor", tutor, dup)
    token = page.context["token"]
    done = post_merge(admin_client_, "tutor", tutor, dup, token, "confirm", survivor="a", **picks_from(page))
    assert done.status_code == 302
    assert "Joaquina B. Quixadá" in str(MergeRecord.objects.get(absorbed_id=dup.pk).absorbed_snapshot)
    assert "registry_mergerecord" in scan_database()

    settings.PHOTO_DELETE_SETTLE_SECONDS = 0
    admin_client_.post(reverse("tutor_erase", args=[tutor.pk]), {"confirm": "on"}, **ADDR)
    assert scan_database() == {}
    history = admin_client_.get(reverse("tutor_detail", args=[tutor.pk])).content.decode()
    assert not found_in(history)
