"""Consent per tutor (issue 16): photos and WhatsApp/e-mail/SMS communications,
append-only records with when/who/how, one-click withdrawal, audited; no photo
upload without the tutor's photo consent."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from registry import consent
from registry.models import AuditEntry, ConsentRecord, Tutor

from .test_photos import add_photo, presign

pytestmark = pytest.mark.django_db
ADDR = {"REMOTE_ADDR": "203.0.113.7"}


def latest(tutor, purpose):
    return consent.current(tutor)[purpose]


def test_new_tutor_form_records_the_consents_given_at_the_desk(reception_client, reception_user):
    page = reception_client.get(reverse("tutor_create")).content.decode()
    for name in ("consent_photos", "consent_whatsapp", "consent_email", "consent_sms"):
        assert f'id="id_{name}"' in page
    assert "Autoriza fotografias dos animais" in page and "Termo assinado" in page
    response = reception_client.post(reverse("tutor_create"), {
        "name": "Consentida Teste", "phone": "(11) 91234-0001",
        "consent_photos": "on", "consent_whatsapp": "on", "consent_method": "signed",
    }, **ADDR)
    assert response.status_code == 302
    tutor = Tutor.objects.get(name="Consentida Teste")
    recs = {r.purpose: r for r in ConsentRecord.objects.filter(tutor=tutor)}
    assert set(recs) == {"photos", "whatsapp"}
    assert all(r.granted and r.method == "signed" and r.recorded_by == reception_user for r in recs.values())
    assert latest(tutor, "email") is None and latest(tutor, "sms") is None
    entries = AuditEntry.objects.filter(object_type="tutor", object_id=tutor.pk, action=AuditEntry.Action.CONSENT)
    assert {e.field for e in entries} == {"Fotografias dos animais", "Comunicações por WhatsApp"}
    assert all(e.ip_address == "203.0.113.7" and e.new_value == "Consentiu (Termo assinado)" for e in entries)


def test_new_tutor_without_consent_records_nothing(reception_client):
    reception_client.post(reverse("tutor_create"), {"name": "Sem Consentimento", "phone": "(11) 91234-0002"})
    tutor = Tutor.objects.get(name="Sem Consentimento")
    assert not ConsentRecord.objects.filter(tutor=tutor).exists()
    assert not consent.has_photo_consent(tutor)


def test_withdrawing_is_one_click_and_is_recorded(vet_client, vet_user, make_tutor):
    tutor = make_tutor()  # conftest: photo consent granted
    page = vet_client.get(reverse("tutor_detail", args=[tutor.pk])).content.decode()
    assert 'id="consentimentos"' in page
    button = re.search(r'<button[^>]*id="consent-withdraw-photos"[^>]*>', page).group(0)
    assert 'form="consent-form"' in button and 'value="withdraw:photos"' in button
    assert re.search(r'<form method="post" action="[^"]*/consentimento/" id="consent-form"', page)
    assert "csrfmiddlewaretoken" in page

    # the one click: the button's value and the form's defaults (method, empty note)
    response = vet_client.post(reverse("tutor_consent", args=[tutor.pk]),
                               {"action": "withdraw:photos", "method": "in_person", "note": ""}, **ADDR)
    assert response.status_code == 302 and response["Location"].endswith("#consentimentos")
    rec = latest(tutor, "photos")
    assert rec.granted is False and rec.method == "in_person" and rec.recorded_by == vet_user
    assert not consent.has_photo_consent(tutor)
    entry = AuditEntry.objects.get(object_type="tutor", object_id=tutor.pk, action=AuditEntry.Action.CONSENT)
    assert (entry.field, entry.old_value, entry.new_value) == (
        "Fotografias dos animais", "Consentiu", "Não consente (Presencial (verbal))")
    assert entry.ip_address == "203.0.113.7" and entry.username == "vet"
    # the history keeps both decisions; the page shows the new state
    assert ConsentRecord.objects.filter(tutor=tutor, purpose="photos").count() == 2
    page = vet_client.get(reverse("tutor_detail", args=[tutor.pk])).content.decode()
    assert 'id="consent-grant-photos"' in page and "Não consente" in page

    # a double click (or a stale page) does not write a second withdrawal
    vet_client.post(reverse("tutor_consent", args=[tutor.pk]), {"action": "withdraw:photos", "method": "in_person"})
    assert ConsentRecord.objects.filter(tutor=tutor, purpose="photos").count() == 2


def test_granting_each_communication_channel_with_its_method(reception_client, make_tutor):
    tutor = make_tutor(photo_consent=False)
    for purpose, method in (("whatsapp", "whatsapp"), ("email", "email"), ("sms", "phone")):
        reception_client.post(reverse("tutor_consent", args=[tutor.pk]),
                              {"action": f"grant:{purpose}", "method": method, "note": "pediu lembretes"})
        rec = latest(tutor, purpose)
        assert rec.granted and rec.method == method and rec.note == "pediu lembretes"
    assert not consent.has_photo_consent(tutor)


@pytest.mark.parametrize("data", [
    {"action": "grant:newsletter", "method": "in_person"},
    {"action": "delete:photos", "method": "in_person"},
    {"action": "grant:photos", "method": "pombo-correio"},
    {"action": "grant:photos", "method": "in_person", "note": "x" * 301},
])
def test_a_bad_consent_post_changes_nothing_and_says_why(reception_client, make_tutor, data):
    tutor = make_tutor(photo_consent=False)
    response = reception_client.post(reverse("tutor_consent", args=[tutor.pk]), data, follow=True)
    assert not ConsentRecord.objects.filter(tutor=tutor).exists()
    page = response.content.decode()
    assert any(msg in page for msg in ("Ação de consentimento inválida.", "Escolha uma das formas da lista.",
                                       "no máximo 300 caracteres"))


def test_consent_records_are_append_only(make_tutor):
    tutor = make_tutor()
    rec = ConsentRecord.objects.get(tutor=tutor)
    rec.granted = False
    with pytest.raises(ValueError):
        rec.save()
    with pytest.raises(ValueError):
        rec.delete()
    assert ConsentRecord.objects.get(pk=rec.pk).granted is True


def test_no_photo_upload_without_photo_consent(reception_client, make_animal, make_tutor, s3_bucket):
    animal = make_animal(tutor=make_tutor(photo_consent=False))
    response = presign(reception_client, animal)
    assert response.status_code == 409
    assert response.json()["error"] == (
        "O tutor não autorizou fotografias dos seus animais. Registre o consentimento no cadastro do tutor "
        "antes de enviar fotos.")
    # the animal page says so where the upload would be, and offers no upload control
    page = reception_client.get(reverse("animal_detail", args=[animal.pk])).content.decode()
    assert 'id="photo-consent-missing"' in page and "Sem consentimento para fotos" in page
    assert 'id="photo-uploader"' not in page and 'id="photo-pick-top"' not in page
    assert f'href="/tutores/{animal.tutor_id}/#consentimentos"' in page

    # consent recorded: the upload works; withdrawn again: refused again
    reception_client.post(reverse("tutor_consent", args=[animal.tutor_id]),
                          {"action": "grant:photos", "method": "signed"})
    assert presign(reception_client, animal).status_code == 200
    page = reception_client.get(reverse("animal_detail", args=[animal.pk])).content.decode()
    assert 'id="photo-uploader"' in page and 'id="photo-consent-missing"' not in page
    add_photo(reception_client, animal, s3_bucket, "ok")
    reception_client.post(reverse("tutor_consent", args=[animal.tutor_id]),
                          {"action": "withdraw:photos", "method": "phone"})
    assert presign(reception_client, animal).status_code == 409


def test_the_consent_of_the_current_tutor_counts(reception_client, make_animal, make_tutor, s3_bucket):
    """An animal moved to a tutor without photo consent cannot get photos."""
    animal = make_animal()
    assert presign(reception_client, animal).status_code == 200
    animal.tutor = make_tutor(photo_consent=False, name="Outro Tutor")
    animal.save()
    assert presign(reception_client, animal).status_code == 409


def test_seed_demo_tutors_consent_to_photos(reception_client, s3_bucket):
    """The demo clinic (make local SEED=1, the local tests' stack) can take photos."""
    from django.core.management import call_command
    from registry.models import Animal

    call_command("seed_demo", "--animals", "20", "--tutors", "8", "--verbosity", "0")
    assert all(consent.has_photo_consent(t) for t in Tutor.objects.all())
    assert ConsentRecord.objects.filter(purpose="photos").count() == 8  # one each, no duplicates
    animal = Animal.objects.first()
    assert presign(reception_client, animal).status_code == 200
    # a second run adds records for its own new tutors only
    call_command("seed_demo", "--animals", "5", "--tutors", "2", "--seed", "7", "--verbosity", "0")
    assert ConsentRecord.objects.filter(purpose="photos").count() == 10
