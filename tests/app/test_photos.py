"""Photo upload (presigned POST policy, confirm with HEAD) and manifest reconciliation against moto S3."""

import base64
import datetime
import json
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from registry import photo_contract as contract
from registry import s3
from registry.models import AuditEntry, Photo

from . import factories
from .factories import BUCKET

pytestmark = pytest.mark.django_db
MB = 1024 * 1024


@pytest.fixture
def animal(make_animal):
    return make_animal()


def presign(c, animal, **kw):
    data = {"filename": "Foto do Thor (1).JPG", "content_type": "image/jpeg", "size": 123456}
    data.update(kw)
    return c.post(reverse("photo_presign", args=[animal.pk]), data)


def policy_of(response):
    fields = response.json()["fields"]
    return json.loads(base64.b64decode(fields["policy"]))


def upload(s3_bucket, presigned, body=b"\xff\xd8\xff fake jpeg", content_type="image/jpeg"):
    """What the browser does: put the object at the presigned key (moto does not enforce POST policies)."""
    s3_bucket.put_object(Bucket=BUCKET, Key=presigned["fields"]["key"], Body=body, ContentType=content_type)


def confirm(c, animal, token):
    return c.post(reverse("photo_confirm", args=[animal.pk]), {"token": token})


def put_manifest(s3_bucket, photo_id, manifest):
    """What the processor leaves: the renditions (an ok manifest) and the manifest last.
    ``manifest`` is a contract.Manifest, or its JSON data spoiled by a test."""
    data = manifest.to_dict() if isinstance(manifest, contract.Manifest) else manifest
    for info in (data.get("renditions") or {}).values():
        if (isinstance(info, dict) and isinstance(info.get("key"), str)
                and info["key"].startswith(contract.PROCESSED_PREFIX)):
            body = b"j" * info["bytes"] if isinstance(info.get("bytes"), int) else b"jpeg"
            s3_bucket.put_object(Bucket=BUCKET, Key=info["key"], Body=body, ContentType=contract.CONTENT_TYPE)
    s3_bucket.put_object(Bucket=BUCKET, Key=contract.manifest_key(photo_id), Body=json.dumps(data).encode(),
                         ContentType=contract.MANIFEST_CONTENT_TYPE)


def _source(photo_id):
    photo = Photo.objects.filter(photo_id=photo_id).first()
    return (photo.key, photo.size) if photo else (f"uploads/{photo_id}/x.jpg", 123456)


def ok_manifest(photo_id, suffix="jpg") -> dict:
    """What the processor writes for this photo (factories.ok_manifest: a contract.Manifest),
    as JSON data a test may then spoil."""
    return factories.ok_manifest(photo_id, *_source(photo_id), suffix=suffix).to_dict()


def failed_manifest(photo_id, code) -> dict:
    return factories.failed_manifest(photo_id, _source(photo_id)[0], code).to_dict()


def extra_rendition(key: str, bytes_: int = 1) -> dict:
    """The optional thumb_hd rendition at ``key`` (JSON data)."""
    return contract.Rendition(key=key, width=640, height=640, bytes=bytes_).to_dict()


# --- presigned POST policy ------------------------------------------------------

def test_presigned_post_policy(reception_client, animal, s3_bucket):
    before = datetime.datetime.now(datetime.UTC)
    response = presign(reception_client, animal)
    after = datetime.datetime.now(datetime.UTC)
    assert response.status_code == 200
    data = response.json()
    photo_id = data["photo_id"]
    assert len(photo_id) == 32 and int(photo_id, 16) >= 0
    key = data["fields"]["key"]
    assert key == f"uploads/{photo_id}/Foto-do-Thor-1-.JPG"
    assert data["fields"]["Content-Type"] == "image/jpeg"
    assert data["url"] == f"https://{BUCKET}.s3.amazonaws.com/"

    policy = policy_of(response)
    conditions = policy["conditions"]
    assert {"key": key} in conditions
    assert {"bucket": BUCKET} in conditions
    assert ["content-length-range", 1, 25 * MB] in conditions
    assert ["starts-with", "$Content-Type", "image/"] in conditions
    expiration = datetime.datetime.strptime(policy["expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)
    # 300 s after the moment of signing, which lies between before and after
    # (a loaded machine can take seconds to build the S3 client)
    five = datetime.timedelta(minutes=5)
    assert before + five - datetime.timedelta(seconds=1) <= expiration <= after + five + datetime.timedelta(seconds=1)
    assert data["fields"]["x-amz-algorithm"] == "AWS4-HMAC-SHA256"  # SigV4 (KMS-encrypted bucket)


def test_each_presign_gets_a_new_server_generated_key(reception_client, animal, s3_bucket):
    a = presign(reception_client, animal, filename="../../etc/passwd").json()
    b = presign(reception_client, animal, filename="../../etc/passwd").json()
    assert a["photo_id"] != b["photo_id"]
    assert a["fields"]["key"] == f"uploads/{a['photo_id']}/passwd"


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"content_type": "application/pdf"}, "Escolha um arquivo de imagem (JPEG, PNG, WebP, GIF, HEIC/HEIF ou AVIF)."),
        ({"content_type": ""}, "Escolha um arquivo de imagem (JPEG, PNG, WebP, GIF, HEIC/HEIF ou AVIF)."),
        ({"size": 0}, "O arquivo está vazio."),
        ({"size": 25 * MB + 1}, "A foto deve ter no máximo 25 MB."),
    ],
)
def test_presign_refuses_bad_files(reception_client, animal, s3_bucket, kw, message):
    response = presign(reception_client, animal, **kw)
    assert response.status_code == 400
    assert response.json() == {"error": message}


def test_sanitise_filename():
    assert s3.sanitise_filename("Fotografia ção/ñ.png") == "n.png"
    assert s3.sanitise_filename("C:\\Users\\ana\\Gato Fofo.jpeg") == "Gato-Fofo.jpeg"
    assert s3.sanitise_filename("...") == "foto"
    assert len(s3.sanitise_filename("a" * 300 + ".jpg")) <= 100
    assert s3.sanitise_filename("a" * 300 + ".jpg").endswith(".jpg")


def test_presign_url_with_custom_endpoint(reception_client, animal, settings, s3_bucket):
    settings.AWS_ENDPOINT_URL = "http://127.0.0.1:5999"
    s3.reset_client()
    data = presign(reception_client, animal).json()
    assert data["url"] == f"http://127.0.0.1:5999/{BUCKET}"


# --- confirm ------------------------------------------------------------------------

def test_confirm_records_a_pending_photo_not_yet_primary(reception_client, animal, s3_bucket):
    data = presign(reception_client, animal).json()
    upload(s3_bucket, data)
    response = confirm(reception_client, animal, data["token"])
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "pending" and body["photo_id"] == data["photo_id"]
    assert body["status_url"] == reverse("photo_status", args=[data["photo_id"]])
    assert 'data-photo-status="pending"' in body["html"] and "processando…" in body["html"]
    photo = Photo.objects.get(photo_id=data["photo_id"])
    assert photo.status == "pending" and not photo.is_primary  # principal only once processed
    assert photo.key == data["fields"]["key"]
    assert photo.original_name == "Foto do Thor (1).JPG"
    assert photo.size == len(b"\xff\xd8\xff fake jpeg") and photo.content_type == "image/jpeg"
    assert photo.uploaded_by.username == "recepcao"
    assert AuditEntry.objects.filter(object_type="animal", object_id=animal.pk, action="photo").exists()
    # confirming twice is harmless
    again = confirm(reception_client, animal, data["token"])
    assert again.status_code == 200 and Photo.objects.count() == 1
    # processed: it becomes the principal photo; a second one does not
    put_manifest(s3_bucket, data["photo_id"], ok_manifest(data["photo_id"]))
    reception_client.get(reverse("photo_status", args=[data["photo_id"]]))
    assert Photo.objects.get(photo_id=data["photo_id"]).is_primary
    data2 = presign(reception_client, animal).json()
    upload(s3_bucket, data2)
    confirm(reception_client, animal, data2["token"])
    put_manifest(s3_bucket, data2["photo_id"], ok_manifest(data2["photo_id"]))
    reception_client.get(reverse("photo_status", args=[data2["photo_id"]]))
    assert not Photo.objects.get(photo_id=data2["photo_id"]).is_primary


def test_confirm_without_upload_is_refused(reception_client, animal, s3_bucket):
    data = presign(reception_client, animal).json()
    response = confirm(reception_client, animal, data["token"])
    assert response.status_code == 400
    assert response.json()["error"] == "O arquivo não chegou ao armazenamento. Tente enviar de novo."
    assert not Photo.objects.exists()


def test_confirm_refuses_non_image_and_deletes_it(reception_client, animal, s3_bucket):
    data = presign(reception_client, animal).json()
    upload(s3_bucket, data, body=b"%PDF-1.4", content_type="application/pdf")
    response = confirm(reception_client, animal, data["token"])
    assert response.status_code == 400
    assert response.json()["error"] == "O arquivo enviado não é uma imagem."
    assert s3.head(data["fields"]["key"]) is None
    assert not Photo.objects.exists()


def test_confirm_refuses_too_large(reception_client, animal, s3_bucket, settings):
    settings.PHOTO_MAX_BYTES = 10  # moto ignores the POST policy, so the app's HEAD check must hold
    data = presign(reception_client, animal, size=5).json()
    upload(s3_bucket, data, body=b"x" * 11)
    response = confirm(reception_client, animal, data["token"])
    assert response.status_code == 400
    assert response.json()["error"] == "A foto deve ter entre 1 byte e 25 MB."
    assert not Photo.objects.exists()


def test_confirm_refuses_tampered_or_foreign_tokens(reception_client, vet_client, animal, make_animal, s3_bucket):
    data = presign(reception_client, animal).json()
    upload(s3_bucket, data)
    assert confirm(reception_client, animal, data["token"] + "x").status_code == 400
    other = make_animal(name="Outro")
    assert confirm(reception_client, other, data["token"]).status_code == 403
    assert confirm(vet_client, animal, data["token"]).status_code == 403  # another user's upload
    assert not Photo.objects.exists()


# --- reconciliation -----------------------------------------------------------------

@pytest.fixture
def pending(reception_client, animal, s3_bucket):
    data = presign(reception_client, animal).json()
    upload(s3_bucket, data)
    assert confirm(reception_client, animal, data["token"]).status_code == 201
    return Photo.objects.get(photo_id=data["photo_id"])


def status(c, photo):
    response = c.get(reverse("photo_status", args=[photo.photo_id]))
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    return response.json()


def test_pending_until_manifest_then_ok(reception_client, pending, s3_bucket):
    assert status(reception_client, pending) == {
        "photo_id": pending.photo_id, "status": "pending", "error": None, "is_primary": False,
        "thumb_url": None, "thumb_hd_url": None, "medium_url": None, "large_url": None,
        "thumb_srcset": "", "view_srcset": ""}
    put_manifest(s3_bucket, pending.photo_id, ok_manifest(pending.photo_id))
    body = status(reception_client, pending)
    assert body["status"] == "ok" and body["error"] is None
    # rendition keys come from the manifest, not hard-coded
    assert f"processed/{pending.photo_id}/thumb-v2.jpg" in body["thumb_url"]
    assert f"processed/{pending.photo_id}/large-v2.jpg" in body["large_url"]
    assert "X-Amz-Expires=600" in body["thumb_url"] and "X-Amz-Signature" in body["thumb_url"]
    assert body["is_primary"] is True  # the animal's first processed photo
    assert body["thumb_srcset"] == f"{body['thumb_url']} 240w"  # widths from the manifest
    assert body["view_srcset"] == f"{body['medium_url']} 800w, {body['large_url']} 1600w"
    pending.refresh_from_db()
    assert pending.status == "ok"
    assert pending.renditions["medium"]["key"] == f"processed/{pending.photo_id}/medium-v2.jpg"
    assert pending.manifest["processor_version"] == "1.0.0"
    assert pending.processed_at is not None
    # the presigned thumbnail actually resolves against the bucket
    s3_bucket.put_object(Bucket=BUCKET, Key=pending.renditions["thumb"]["key"], Body=b"jpeg")
    # stored once: a later manifest change is ignored and S3 is no longer read
    put_manifest(s3_bucket, pending.photo_id, failed_manifest(pending.photo_id, "corrupt"))
    assert status(reception_client, pending)["status"] == "ok"
    pending.refresh_from_db()
    assert pending.status == "ok"


def test_detail_page_shows_thumbnail_once_ok(reception_client, pending, s3_bucket, animal):
    html = reception_client.get(reverse("animal_detail", args=[animal.pk])).content.decode()
    assert 'data-photo-status="pending"' in html and "processando…" in html
    assert 'id="photo-input"' in html and 'accept="image/*,.jpg,' in html and ".heic,.heif,.avif" in html
    assert 'id="photo-camera"' in html and 'capture="environment"' in html
    put_manifest(s3_bucket, pending.photo_id, ok_manifest(pending.photo_id))
    status(reception_client, pending)
    html = reception_client.get(reverse("animal_detail", args=[animal.pk])).content.decode()
    assert 'data-photo-status="ok"' in html and 'class="photo-thumb"' in html
    assert f"processed/{pending.photo_id}/thumb-v2.jpg" in html


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("unsupported", "Formato não suportado: envie uma foto JPEG, PNG, WebP, GIF, HEIC/HEIF ou AVIF."),
        ("corrupt", "O arquivo está corrompido ou incompleto. Envie de novo a partir da foto original."),
        ("too_large", "A imagem é grande demais para ser processada (máximo de 25 MB e 50 megapixels)."),
        ("something_new", "Não foi possível processar a foto."),
    ],
)
def test_pending_to_failed_with_portuguese_reason(reception_client, pending, s3_bucket, animal, code, message):
    put_manifest(s3_bucket, pending.photo_id, failed_manifest(pending.photo_id, code))
    body = status(reception_client, pending)
    assert body["status"] == "failed" and body["error"] == message and body["thumb_url"] is None
    pending.refresh_from_db()
    assert pending.status == "failed" and pending.error_code == code
    assert pending.error_message == "cannot identify image file"  # the processor's own text, kept for support
    assert pending.renditions == {}
    html = reception_client.get(reverse("animal_detail", args=[animal.pk])).content.decode()
    assert 'data-photo-status="failed"' in html and message.replace("'", "&#x27;") in html


def test_manifest_for_another_photo_is_treated_as_failed(reception_client, pending, s3_bucket):
    put_manifest(s3_bucket, pending.photo_id, ok_manifest("someoneelse"))
    assert status(reception_client, pending)["status"] == "failed"


def test_ok_manifest_without_renditions_is_failed(reception_client, pending, s3_bucket):
    manifest = ok_manifest(pending.photo_id)
    del manifest["renditions"]["thumb"]
    put_manifest(s3_bucket, pending.photo_id, manifest)
    assert status(reception_client, pending)["status"] == "failed"


def test_unreadable_manifest_keeps_pending(reception_client, pending, s3_bucket):
    s3_bucket.put_object(Bucket=BUCKET, Key=f"processed/{pending.photo_id}/manifest.json", Body=b"{not json")
    assert status(reception_client, pending)["status"] == "pending"


def test_pending_too_long_is_reported_but_not_stored(reception_client, pending, s3_bucket):
    Photo.objects.filter(pk=pending.pk).update(uploaded_at=timezone.now() - datetime.timedelta(minutes=11))
    body = status(reception_client, pending)
    assert body["status"] == "failed"
    assert body["error"] == "O processamento da foto está demorando mais que o esperado. Tente enviar de novo."
    pending.refresh_from_db()
    assert pending.status == "pending"
    # a late manifest still reconciles
    put_manifest(s3_bucket, pending.photo_id, ok_manifest(pending.photo_id))
    assert status(reception_client, pending)["status"] == "ok"


def test_s3_outage_during_poll_answers_503_pending(reception_client, pending, monkeypatch):
    def boom(photo_id):
        raise RuntimeError("network down")

    monkeypatch.setattr(s3, "read_manifest", boom)
    response = reception_client.get(reverse("photo_status", args=[pending.photo_id]))
    assert response.status_code == 503
    assert response.json()["status"] == "pending"


# --- gallery actions -----------------------------------------------------------------

def add_photo(c, animal, s3_bucket, outcome=None):
    """Upload + confirm one photo; outcome "ok"/"corrupt"/... writes its manifest and polls once."""
    data = presign(c, animal).json()
    upload(s3_bucket, data)
    assert confirm(c, animal, data["token"]).status_code == 201
    if outcome:
        manifest = ok_manifest(data["photo_id"]) if outcome == "ok" else failed_manifest(data["photo_id"], outcome)
        put_manifest(s3_bucket, data["photo_id"], manifest)
        c.get(reverse("photo_status", args=[data["photo_id"]]))
    return Photo.objects.get(photo_id=data["photo_id"])


def primary_ids(animal):
    return list(Photo.objects.filter(animal=animal, is_primary=True).values_list("photo_id", flat=True))


def test_set_primary_and_delete(reception_client, animal, s3_bucket):
    first, second, third = (add_photo(reception_client, animal, s3_bucket, "ok") for _ in range(3))
    assert primary_ids(animal) == [first.photo_id]
    response = reception_client.post(reverse("photo_set_primary", args=[second.photo_id]))
    assert response.status_code == 302
    assert primary_ids(animal) == [second.photo_id]
    # deleting the primary promotes the oldest remaining processed photo and removes the S3 objects
    assert reception_client.post(reverse("photo_delete", args=[second.photo_id])).status_code == 302
    assert not Photo.objects.filter(photo_id=second.photo_id).exists()
    assert primary_ids(animal) == [first.photo_id]
    assert s3.head(second.key) is None and s3.head(f"processed/{second.photo_id}/manifest.json") is None
    assert AuditEntry.objects.filter(object_type="animal", object_id=animal.pk, action="photo",
                                     new_value="Excluída").exists()


def test_a_failed_photo_never_becomes_primary(reception_client, animal, s3_bucket):
    broken = add_photo(reception_client, animal, s3_bucket, "corrupt")  # the first upload, and it failed
    assert primary_ids(animal) == []
    pending = add_photo(reception_client, animal, s3_bucket)
    assert primary_ids(animal) == []  # nor does one still processing
    good = add_photo(reception_client, animal, s3_bucket, "ok")
    assert primary_ids(animal) == [good.photo_id]
    # "Tornar principal" is refused for a failed or pending photo
    for photo in (broken, pending):
        reception_client.post(reverse("photo_set_primary", args=[photo.photo_id]))
        assert primary_ids(animal) == [good.photo_id]
    html = reception_client.get(reverse("animal_detail", args=[animal.pk])).content.decode()
    offers = re.findall(r'<form[^>]*photo-set-primary-form[^>]*>', html)
    assert len(offers) == 1 and "hidden" in offers[0]  # only the pending one, hidden until it is processed
    assert f"/fotos/{broken.photo_id}/principal" not in html  # never for the failed one
    assert html.count("photo-primary-tag") == 1


def test_deleting_the_primary_skips_failed_and_pending_photos(reception_client, animal, s3_bucket):
    principal = add_photo(reception_client, animal, s3_bucket, "ok")
    add_photo(reception_client, animal, s3_bucket, "unsupported")
    pending = add_photo(reception_client, animal, s3_bucket)
    later = add_photo(reception_client, animal, s3_bucket, "ok")
    reception_client.post(reverse("photo_delete", args=[principal.photo_id]))
    assert primary_ids(animal) == [later.photo_id]
    reception_client.post(reverse("photo_delete", args=[later.photo_id]))
    assert primary_ids(animal) == []  # only a failed and a pending photo left: no principal
    put_manifest(s3_bucket, pending.photo_id, ok_manifest(pending.photo_id))
    reception_client.get(reverse("photo_status", args=[pending.photo_id]))
    assert primary_ids(animal) == [pending.photo_id]  # ...until one is processed


def test_a_primary_that_fails_hands_over(reception_client, animal, s3_bucket):
    """A photo marked primary while pending (as older versions did) is demoted
    when it fails, and the oldest processed photo takes its place."""
    good = add_photo(reception_client, animal, s3_bucket, "ok")
    old = add_photo(reception_client, animal, s3_bucket)
    Photo.objects.filter(animal=animal).update(is_primary=False)
    Photo.objects.filter(pk=old.pk).update(is_primary=True)
    put_manifest(s3_bucket, old.photo_id, failed_manifest(old.photo_id, "corrupt"))
    body = reception_client.get(reverse("photo_status", args=[old.photo_id])).json()
    assert body["status"] == "failed" and body["is_primary"] is False
    assert primary_ids(animal) == [good.photo_id]


def test_status_of_a_deleted_photo_says_so(reception_client, vet_client, animal, s3_bucket):
    photo = add_photo(reception_client, animal, s3_bucket)
    reception_client.post(reverse("photo_delete", args=[photo.photo_id]))
    response = vet_client.get(reverse("photo_status", args=[photo.photo_id]))  # someone else's page polling
    assert response.status_code == 410  # gone for good (photos.js treats 404 and 410 as deleted)
    assert response.json() == {"photo_id": photo.photo_id, "status": "deleted", "error": "Esta foto foi excluída."}


def test_every_processor_error_code_has_its_own_message():
    from registry import photo_contract

    messages = [s3.error_message(code) for code in photo_contract.ERROR_CODES]
    assert len(set(messages)) == len(messages) and s3.GENERIC_ERROR not in messages
    assert "corrompido" in s3.error_message(photo_contract.CORRUPT)
    assert "não suportado" in s3.error_message(photo_contract.UNSUPPORTED)
    assert "corrompido" not in s3.error_message(photo_contract.UNSUPPORTED)


def test_the_app_and_the_processor_share_one_contract():
    """registry/photo_contract.py is the processor's file (a link), not a copy."""
    from pathlib import Path

    from registry import photo_contract

    here = Path(photo_contract.__file__)
    processor = Path(__file__).resolve().parents[2] / "lambda_src" / "photo_contract.py"
    assert here.resolve() == processor.resolve()


def test_detail_page_offers_crisp_thumbnails_and_the_principal_photo(reception_client, animal, s3_bucket):
    photo = add_photo(reception_client, animal, s3_bucket)
    manifest = ok_manifest(photo.photo_id)
    manifest["renditions"]["thumb_hd"] = extra_rendition(contract.rendition_key(photo.photo_id, "thumb_hd"))
    put_manifest(s3_bucket, photo.photo_id, manifest)
    reception_client.get(reverse("photo_status", args=[photo.photo_id]))
    html = reception_client.get(reverse("animal_detail", args=[animal.pk])).content.decode()
    assert f"processed/{photo.photo_id}/thumb_hd.jpg" in html and " 640w" in html and " 240w" in html
    assert f'alt="Foto de {animal.name}"' in html
    assert f'alt="Foto principal de {animal.name}"' in html and 'id="head-photo-slot"' in html
    assert 'id="photo-viewer"' in html and " 1600w" in html


def test_gallery_actions_are_post_only(reception_client, pending):
    assert reception_client.get(reverse("photo_delete", args=[pending.photo_id])).status_code == 405
    assert reception_client.get(reverse("photo_set_primary", args=[pending.photo_id])).status_code == 405


def test_list_and_detail_render_without_s3_credentials(reception_client, pending, monkeypatch):
    """Presigning failures (no credentials) must not break pages."""
    Photo.objects.filter(pk=pending.pk).update(status="ok", renditions=ok_manifest(pending.photo_id)["renditions"])

    def no_creds(key):
        raise RuntimeError("Unable to locate credentials")

    monkeypatch.setattr(s3, "presigned_get", no_creds)
    assert reception_client.get(reverse("animal_list")).status_code == 200
    assert reception_client.get(reverse("animal_detail", args=[pending.animal_id])).status_code == 200


# --- the fast presigned GET equals boto3's, byte for byte ------------------------------

@pytest.mark.parametrize(
    ("region", "endpoint", "token"),
    [("us-east-1", None, None), ("sa-east-1", None, "FwoGZXIvYXdzE/session+token=="),
     ("us-east-1", "http://127.0.0.1:5000", None)],
)
@pytest.mark.parametrize("key", ["processed/abc/thumb.jpg", "processed/a b+c/ção~x (1).jpg"])
@pytest.mark.parametrize("version", [None, "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo"])
def test_fast_presigned_get_matches_boto3(settings, monkeypatch, region, endpoint, token, key, version):
    import botocore.auth

    fixed = datetime.datetime(2026, 3, 4, 5, 6, 7)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda remove_tzinfo=True: fixed)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    if token:
        monkeypatch.setenv("AWS_SESSION_TOKEN", token)
    else:
        monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    settings.AWS_REGION, settings.AWS_ENDPOINT_URL = region, endpoint
    s3.reset_client()
    expected = s3.presigned_get_boto3(key, version)
    assert s3.presigned_get(key, now=fixed.replace(tzinfo=datetime.UTC), version_id=version) == expected


def test_fast_presigned_get_fetches_the_object(s3_bucket):
    import requests

    s3_bucket.put_object(Bucket=BUCKET, Key="processed/p/thumb 1.jpg", Body=b"jpeg-bytes")
    url = s3.presigned_get("processed/p/thumb 1.jpg")
    assert url.startswith(f"https://{BUCKET}.s3.amazonaws.com/processed/p/thumb%201.jpg?")
    assert "X-Amz-Expires=600" in url
    response = requests.get(url, timeout=5)  # moto intercepts requests too
    assert response.status_code == 200 and response.content == b"jpeg-bytes"


def test_the_admin_cannot_make_a_failed_photo_primary(reception_client, animal, s3_bucket):
    from django.contrib.auth.models import User

    admin_client_ = Client()  # the Django admin is for superusers only
    admin_client_.force_login(User.objects.create_superuser("raiz", password="senha-de-teste-123"))
    broken = add_photo(reception_client, animal, s3_bucket, "corrupt")
    url = reverse("admin:registry_photo_change", args=[broken.pk])
    page = admin_client_.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    assert "is_primary" not in form.fields and "status" not in form.fields
    data = {k: v for k, v in form.initial.items() if k in form.fields and v is not None}
    data.update({"animal": animal.pk, "is_primary": "on", "status": "ok", "_save": "Salvar"})
    data["uploaded_at_0"], data["uploaded_at_1"] = broken.uploaded_at.strftime("%d/%m/%Y"), "12:00:00"
    admin_client_.post(url, data)
    broken.refresh_from_db()
    assert broken.status == "failed" and not broken.is_primary


def test_principal_photo_beside_the_name_on_edit_picker_and_archive(reception_client, admin_client_, animal,
                                                                   s3_bucket):
    pages = [reverse("animal_edit", args=[animal.pk]), reverse("animal_edit", args=[animal.pk]) + "?change_tutor=1",
             reverse("animal_archive", args=[animal.pk])]
    broken = add_photo(reception_client, animal, s3_bucket, "corrupt")
    for url in pages:
        assert "principal-photo" not in admin_client_.get(url).content.decode()  # none yet: a failed one never is
    good = add_photo(reception_client, animal, s3_bucket, "ok")
    for url in pages:
        html = admin_client_.get(url).content.decode()
        assert f'alt="Foto principal de {animal.name}"' in html, url
        assert f"processed/{good.photo_id}/thumb-v2.jpg" in html and broken.photo_id not in html


def test_an_optional_rendition_outside_the_photo_prefix_fails_the_manifest(reception_client, pending, s3_bucket):
    """Confinement covers every rendition a manifest names, optional ones (thumb_hd) included."""
    manifest = ok_manifest(pending.photo_id)
    manifest["renditions"]["thumb_hd"] = extra_rendition("processed/someone-else/thumb_hd.jpg", 4)
    put_manifest(s3_bucket, pending.photo_id, manifest)
    body = reception_client.get(reverse("photo_status", args=[pending.photo_id])).json()
    assert body["status"] == "failed"
    pending.refresh_from_db()
    assert pending.renditions == {} and pending.error_code == "invalid_manifest"
