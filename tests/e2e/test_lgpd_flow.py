"""LGPD in a real browser against the local stack (issue 16): a tutor registered
with photo consent, a photo uploaded; withdrawing the consent is one click and
the animal page then says no photo can be sent; the data subject's report opens
and its JSON downloads (with working links to the photo); the anonymisation is
confirmed, the tutor page shows the anonymised owner with the animals kept,
search no longer finds the name, CPF or phone, and the photo is gone from S3."""

from __future__ import annotations

import json
import random
import re
import time

import pytest

from local.bucket import BUCKET, clients
from tests.e2e.test_clinic_flow import THUMB_LOADED, photo_file, shoot, valid_cpf
from tests.e2e.test_search_flow import sign_in

pytestmark = pytest.mark.e2e


def test_consent_data_request_and_erasure(local_stack, page, tmp_path):
    base = local_stack.url.rstrip("/")
    rnd = random.Random()
    suffix = "".join(rnd.choice("bcdfghjklmnpqrstvwxz") for _ in range(6)).capitalize()  # unique per run
    name = f"Iracema Lacerda {suffix}"
    cpf = valid_cpf(rnd)
    phone = f"(85) 9{rnd.randrange(1000, 9999)}-{rnd.randrange(1000, 9999)}"
    sign_in(page, base, local_stack.password)

    # Registered at the desk with her signed photo consent.
    page.goto(f"{base}/tutores/novo/")
    page.fill("#id_name", name)
    page.fill("#id_cpf", cpf)
    page.fill("#id_phone", phone)
    page.fill("#id_email", f"iracema.{suffix.lower()}@exemplo.com.br")
    page.check("#id_consent_photos")
    page.select_option("#id_consent_method", "signed")
    page.click("#save-tutor")
    page.wait_for_url(re.compile(r"/tutores/\d+/$"))
    tutor_url = page.url
    tutor_id = re.search(r"/tutores/(\d+)/$", tutor_url).group(1)
    assert page.get_attribute('#consent-table tr[data-consent-purpose="photos"]', "data-consent-granted") == "1"

    page.click("#new-animal-for-tutor")
    page.fill("#id_name", "Jandaia")
    page.select_option("#id_species", "bird")
    page.click("#save-animal")
    page.wait_for_url(re.compile(r"/animais/\d+/$"))
    animal_url = page.url
    page.set_input_files("#photo-input", str(photo_file(tmp_path)))
    page.wait_for_selector('#photo-gallery [data-photo-status="ok"] img.photo-thumb', timeout=30_000)
    page.wait_for_function(THUMB_LOADED, arg="#photo-gallery img.photo-thumb", timeout=30_000)

    # Withdrawing is one click; the animal page then refuses photos, in pt-BR.
    page.goto(tutor_url)
    page.click("#consent-withdraw-photos")
    page.wait_for_selector("#consent-grant-photos")
    assert "Fotografias dos animais: consentimento retirado." in page.inner_text(".messages")
    page.goto(animal_url)
    assert "Sem consentimento para fotos" in page.inner_text("#photo-consent-missing")
    assert page.locator("#photo-input").count() == 0

    # The data subject's report: the page, then the JSON.
    page.goto(tutor_url)
    page.click("#tutor-data-report")
    page.wait_for_url(re.compile(rf"/tutores/{tutor_id}/dados/$"))
    assert page.inner_text("h1") == f"Dados do titular: {name}"
    holder = page.inner_text("#report-holder")
    assert cpf in holder and phone in holder
    assert "Jandaia" in page.inner_text("#report-animals")
    assert "Termo assinado" in page.inner_text("#report-consents")
    assert re.search(r"\d{2}/\d{2}/\d{4}", page.inner_text("#report-generated"))
    shoot(page, "lgpd-report.png")
    with page.expect_download() as info:
        page.click("#download-json")
    download = info.value
    assert download.suggested_filename.startswith(f"dados-titular-{tutor_id}-")
    data = json.loads(open(download.path(), encoding="utf-8").read())
    assert data["titular"]["nome"] == name and data["titular"]["cpf"] == cpf
    (animal,) = data["animais"]
    (photo,) = animal["fotos"]
    thumb = page.request.get(photo["links"]["thumb"])  # a short-lived presigned GET on the local S3
    assert thumb.status == 200 and thumb.headers["content-type"].startswith("image/")
    assert [h["forma"] for h in data["consentimentos"]["historico"]] == ["Presencial (verbal)", "Termo assinado"]

    # The anonymisation: a confirmation page first, nothing without ticking it.
    page.goto(tutor_url)
    page.click("#tutor-erase")
    page.wait_for_url(re.compile(rf"/tutores/{tutor_id}/anonimizar/$"))
    assert "1 foto dos animais" in page.inner_text("#erase-confirm")
    page.click("#confirm-erase")
    assert "Marque a confirmação" in page.inner_text("#confirm-error")
    page.check("#id_confirm")
    page.click("#confirm-erase")
    page.wait_for_url(re.compile(rf"/tutores/{tutor_id}/$"))
    assert page.inner_text("h1") == f"Tutor anonimizado nº {tutor_id}"
    assert "Jandaia" in page.inner_text("#tutor-animals")  # the animal stays, under the anonymised owner
    data_text = page.inner_text("#tutor-data")
    assert cpf not in data_text and phone not in data_text
    assert page.locator("#tutor-erase").count() == 0

    # Search no longer finds her, by name, CPF or phone.
    for term in (name, cpf, phone, suffix):
        page.goto(f"{base}/tutores/")
        page.fill("#id_q", term)
        page.press("#id_q", "Enter")
        page.wait_for_load_state()
        assert page.locator(f'a[href="/tutores/{tutor_id}/"]').count() == 0, term
    page.goto(f"{base}/animais/")
    page.fill("#id_q", cpf)
    page.press("#id_q", "Enter")
    page.wait_for_selector("#result-count")
    assert "Jandaia" not in page.inner_text("main")

    # The photo's objects are deleted from S3 (the deletion outbox): nothing
    # current is left under its prefixes. (The bucket is versioned: the previous
    # versions expire by the lifecycle rule, docs/lgpd.md; the report's links
    # named a version and expire within minutes.)
    s3, _ = clients(local_stack.endpoint)
    prefixes = (f"uploads/{photo['id']}/", f"processed/{photo['id']}/")
    deadline = time.monotonic() + 30
    while any(s3.list_objects_v2(Bucket=BUCKET, Prefix=p).get("KeyCount") for p in prefixes):
        assert time.monotonic() < deadline, "the photo is still in S3"
        time.sleep(1)
