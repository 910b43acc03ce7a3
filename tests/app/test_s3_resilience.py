"""Photo deletion outbox, a hung/unreachable S3, and key confinement."""

from __future__ import annotations

import socket
import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from registry import outbox, photos, s3
from registry.models import AuditEntry, Photo, PhotoDeletion

from local.ports import free_port

from .factories import BUCKET
from .test_photos import confirm, ok_manifest, presign, put_manifest, upload

pytestmark = pytest.mark.django_db


class HungS3:
    """A TCP listener that accepts connections and never answers (S3 paused)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._held = []
        self._stop = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        self.sock.settimeout(0.2)
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            self._held.append(conn)

    def close(self):
        self._stop = True
        self.thread.join(2)
        for c in self._held:
            c.close()
        self.sock.close()


@pytest.fixture
def animal(make_animal):
    return make_animal()


def add_photo(c, animal, s3_bucket, processed=True) -> Photo:
    data = presign(c, animal).json()
    upload(s3_bucket, data)
    assert confirm(c, animal, data["token"]).status_code == 201
    photo = Photo.objects.get(photo_id=data["photo_id"])
    if processed:
        for name in ("large", "medium", "thumb"):
            s3_bucket.put_object(Bucket=BUCKET, Key=f"processed/{photo.photo_id}/{name}-v2.jpg", Body=b"x")
        put_manifest(s3_bucket, photo.photo_id, ok_manifest(photo.photo_id))
    return photo


def keys_of(s3_bucket, photo_id):
    out = []
    for prefix in (f"uploads/{photo_id}/", f"processed/{photo_id}/"):
        out += [o["Key"] for o in s3_bucket.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])]
    return out


def sweep_all():
    """What the outbox thread does over time: every unfinished row, due now."""
    PhotoDeletion.objects.filter(done_at__isnull=True).update(next_attempt_at=timezone.now())
    return outbox.process_due()


@pytest.fixture
def unreachable(settings):
    """S3 endpoint on a closed port (connection refused)."""
    settings.AWS_ENDPOINT_URL = f"http://127.0.0.1:{free_port()}"
    s3.reset_client()
    yield
    settings.AWS_ENDPOINT_URL = None
    s3.reset_client()


# --- deletion outbox ---------------------------------------------------------------

def test_delete_removes_every_object_and_is_audited(reception_client, animal, s3_bucket, settings):
    photo = add_photo(reception_client, animal, s3_bucket)
    assert len(keys_of(s3_bucket, photo.photo_id)) == 5
    assert reception_client.post(reverse("photo_delete", args=[photo.photo_id])).status_code == 302
    assert keys_of(s3_bucket, photo.photo_id) == []  # the immediate sweep
    row = PhotoDeletion.objects.get(photo_id=photo.photo_id)
    assert row.objects_deleted == 5 and row.done_at is None  # the processor may still write: keep looking
    assert AuditEntry.objects.filter(object_id=animal.pk, new_value="Excluída", username="recepcao").exists()
    settings.PHOTO_DELETE_SETTLE_SECONDS = 0
    PhotoDeletion.objects.filter(pk=row.pk).update(settle_until=timezone.now())
    sweep_all()
    row.refresh_from_db()
    assert row.done_at is not None
    assert AuditEntry.objects.filter(object_id=animal.pk, new_value__startswith="Removida do armazenamento").exists()


def test_delete_while_s3_unreachable_is_not_a_500_and_is_retried(reception_client, animal, s3_bucket, settings):
    photo = add_photo(reception_client, animal, s3_bucket)
    settings.AWS_ENDPOINT_URL = f"http://127.0.0.1:{free_port()}"
    s3.reset_client()
    c = Client(raise_request_exception=True)
    c.force_login(photo.uploaded_by)
    response = c.post(reverse("photo_delete", args=[photo.photo_id]))
    assert response.status_code == 302
    assert not Photo.objects.filter(pk=photo.pk).exists()
    row = PhotoDeletion.objects.get(photo_id=photo.photo_id)
    assert row.done_at is None and row.attempts == 1 and row.last_error
    sweep_all()  # still down: still pending, nothing lost
    row.refresh_from_db()
    assert row.done_at is None and row.attempts == 2
    # S3 back
    settings.AWS_ENDPOINT_URL = None
    s3.reset_client()
    PhotoDeletion.objects.filter(pk=row.pk).update(settle_until=timezone.now())
    sweep_all()
    assert keys_of(s3_bucket, photo.photo_id) == []
    sweep_all()
    row.refresh_from_db()
    assert row.done_at is not None and row.objects_deleted == 5


def test_renditions_written_after_the_delete_are_removed(reception_client, animal, s3_bucket):
    photo = add_photo(reception_client, animal, s3_bucket, processed=False)
    reception_client.post(reverse("photo_delete", args=[photo.photo_id]))
    # a processor that had already read the original finishes now
    for name in ("large", "medium", "thumb"):
        s3_bucket.put_object(Bucket=BUCKET, Key=f"processed/{photo.photo_id}/{name}-v2.jpg", Body=b"late")
    put_manifest(s3_bucket, photo.photo_id, ok_manifest(photo.photo_id))
    sweep_all()
    assert keys_of(s3_bucket, photo.photo_id) == []
    row = PhotoDeletion.objects.get(photo_id=photo.photo_id)
    assert row.done_at is None  # not before the processor can no longer write
    PhotoDeletion.objects.filter(pk=row.pk).update(settle_until=timezone.now() - timedelta(seconds=1))
    sweep_all()
    row.refresh_from_db()
    assert row.done_at is not None and row.objects_deleted == 5


def test_admin_photo_and_animal_deletion_go_through_the_outbox(admin_user, reception_client, animal, s3_bucket):
    from django.contrib.auth.models import User

    root = User.objects.create_superuser("root", password="senha-de-teste-123")
    c = Client()
    c.force_login(root)
    one, two, three = (add_photo(reception_client, animal, s3_bucket) for _ in range(3))
    response = c.post(f"/admin/registry/photo/{one.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert PhotoDeletion.objects.filter(photo_id=one.photo_id, requested_by="root").exists()
    response = c.post(f"/admin/registry/animal/{animal.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert set(PhotoDeletion.objects.values_list("photo_id", flat=True)) == {one.photo_id, two.photo_id,
                                                                              three.photo_id}
    assert AuditEntry.objects.filter(object_type="animal", object_id=animal.pk, action="delete").exists()
    assert AuditEntry.objects.filter(object_type="animal", object_id=animal.pk, new_value="Excluída").count() == 3
    PhotoDeletion.objects.update(settle_until=timezone.now())
    call_command("process_photo_deletions", "--all")
    for p in (one, two, three):
        assert keys_of(s3_bucket, p.photo_id) == []


def test_status_of_a_deleted_photo_is_410_json(reception_client, vet_client, animal, s3_bucket):
    photo = add_photo(reception_client, animal, s3_bucket, processed=False)
    vet_client.post(reverse("photo_delete", args=[photo.photo_id]))
    response = reception_client.get(reverse("photo_status", args=[photo.photo_id]))
    assert response.status_code == 410
    assert response.json() == {"photo_id": photo.photo_id, "status": "deleted", "error": "Esta foto foi excluída."}
    response = reception_client.get(reverse("photo_status", args=["0" * 32]))
    assert response.status_code == 404 and response.json()["status"] == "not_found"
    # a second delete (double click, other tab) is not an error page
    assert reception_client.post(reverse("photo_delete", args=[photo.photo_id])).status_code == 302


def test_expired_session_on_the_api_is_401_json(client, animal):
    response = client.get(reverse("photo_status", args=["0" * 32]))
    assert response.status_code == 401
    assert response.json() == {"error": "Sessão expirada: entre novamente."}


def test_confirm_of_a_deleted_photo_is_refused(reception_client, animal, s3_bucket):
    data = presign(reception_client, animal).json()
    upload(s3_bucket, data)
    confirm(reception_client, animal, data["token"])
    reception_client.post(reverse("photo_delete", args=[data["photo_id"]]))
    Photo.objects.filter(photo_id=data["photo_id"]).delete()
    response = confirm(reception_client, animal, data["token"])
    assert response.status_code == 410


# --- a hung S3 ---------------------------------------------------------------------

def test_request_path_client_has_short_timeouts_and_no_retries(settings):
    config = s3.client().meta.config
    assert config.connect_timeout == settings.S3_CONNECT_TIMEOUT <= 2
    assert config.read_timeout == settings.S3_READ_TIMEOUT <= 5
    assert config.retries["total_max_attempts"] == 1


def test_hung_s3_costs_one_bounded_call_then_the_breaker_answers(reception_client, animal, s3_bucket, settings):
    photo = add_photo(reception_client, animal, s3_bucket, processed=False)
    hung = HungS3()
    try:
        settings.AWS_ENDPOINT_URL = f"http://127.0.0.1:{hung.port}"
        settings.S3_READ_TIMEOUT = 0.5
        s3.reset_client()
        url = reverse("photo_status", args=[photo.photo_id])
        first = reception_client.get(url)
        assert first.status_code == 503 and first.json()["retry"] is True
        assert int(first["Retry-After"]) == int(settings.S3_BREAKER_SECONDS)
        assert hung.connections == 1  # one attempt, no retries
        for _ in range(5):
            assert reception_client.get(url).status_code == 503
        assert hung.connections == 1  # the breaker answered without touching S3
        # pages and /healthz never wait for S3
        s3.breaker.reset()
        assert reception_client.get(reverse("animal_list")).status_code == 200
        assert reception_client.get(reverse("animal_detail", args=[animal.pk])).status_code == 200
        assert Client().get(reverse("healthz")).status_code == 200
        assert hung.connections == 1
    finally:
        hung.close()


def test_deleting_while_s3_is_hung_does_not_wait_on_it_twice(reception_client, animal, s3_bucket, settings):
    photo = add_photo(reception_client, animal, s3_bucket, processed=False)
    other = add_photo(reception_client, animal, s3_bucket, processed=False)
    hung = HungS3()
    try:
        settings.AWS_ENDPOINT_URL = f"http://127.0.0.1:{hung.port}"
        settings.S3_READ_TIMEOUT = 0.5
        s3.reset_client()
        assert reception_client.post(reverse("photo_delete", args=[photo.photo_id])).status_code == 302
        assert reception_client.post(reverse("photo_delete", args=[other.photo_id])).status_code == 302
        assert hung.connections == 1
        assert PhotoDeletion.objects.filter(done_at__isnull=True).count() == 2
    finally:
        hung.close()


# --- key confinement ---------------------------------------------------------------

@pytest.fixture
def pending(reception_client, animal, s3_bucket):
    return add_photo(reception_client, animal, s3_bucket, processed=False)


@pytest.mark.parametrize("bad_key", [
    "processed/{other}/large.jpg",            # another photo's rendition
    "uploads/{me}/original.jpg",              # the unprocessed original
    "processed/{me}/../{other}/large.jpg",    # traversal
    "processed/{me}/sub/large.jpg",           # not directly under the prefix
    "processed/{me}",                          # the prefix itself
    "backups/clinic.sqlite3",                  # anything else in the bucket
    "https://evil.example/x.jpg",
])
def test_manifest_keys_outside_the_photos_prefix_are_refused(reception_client, pending, s3_bucket, bad_key):
    other = "f" * 32
    manifest = ok_manifest(pending.photo_id)
    manifest["renditions"]["thumb"]["key"] = bad_key.format(me=pending.photo_id, other=other)
    put_manifest(s3_bucket, pending.photo_id, manifest)
    data = reception_client.get(reverse("photo_status", args=[pending.photo_id])).json()
    assert data["status"] == "failed" and data["thumb_url"] is None
    pending.refresh_from_db()
    assert pending.status == Photo.Status.FAILED and pending.error_code == "invalid_manifest"
    assert pending.renditions == {}


def test_stored_renditions_outside_the_prefix_are_never_linked(pending):
    Photo.objects.filter(pk=pending.pk).update(
        status=Photo.Status.OK, renditions={"thumb": {"key": f"processed/{'e' * 32}/thumb.jpg"}})
    pending.refresh_from_db()
    assert photos.rendition_url(pending, "thumb") is None


def test_confirm_only_accepts_the_photos_own_upload_key(reception_client, animal, s3_bucket):
    data = presign(reception_client, animal).json()
    s3_bucket.put_object(Bucket=BUCKET, Key=f"uploads/{'a' * 32}/x.jpg", Body=b"x", ContentType="image/jpeg")
    token = photos.UploadTicket(
        photo_id=data["photo_id"], key=f"uploads/{'a' * 32}/x.jpg", animal_id=animal.pk,
        user_id=Photo._meta.get_field("uploaded_by").related_model.objects.get(username="recepcao").pk,
        original_name="x.jpg").sign()
    assert confirm(reception_client, animal, token).status_code == 400


# --- forged uploads under another photo's prefix (the local S3 enforces no POST policy) ---

def test_manifest_made_from_another_upload_under_the_prefix_is_ignored(reception_client, pending, s3_bucket):
    from .test_photos import failed_manifest

    for manifest in (ok_manifest(pending.photo_id), failed_manifest(pending.photo_id, "corrupt")):
        manifest["source"]["key"] = f"uploads/{pending.photo_id}/forjada.jpg"
        put_manifest(s3_bucket, pending.photo_id, manifest)
        data = reception_client.get(reverse("photo_status", args=[pending.photo_id])).json()
        assert data["status"] == "pending" and data["thumb_url"] is None
    manifest = ok_manifest(pending.photo_id)
    manifest["source"]["bytes"] = pending.size + 1  # same key, other content
    put_manifest(s3_bucket, pending.photo_id, manifest)
    assert reception_client.get(reverse("photo_status", args=[pending.photo_id])).json()["status"] == "pending"


def test_links_keep_showing_the_processed_version_after_an_overwrite(reception_client, pending, s3_bucket):
    import requests

    s3_bucket.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    put_manifest(s3_bucket, pending.photo_id, ok_manifest(pending.photo_id))
    data = reception_client.get(reverse("photo_status", args=[pending.photo_id])).json()
    assert data["status"] == "ok"
    thumb_key = ok_manifest(pending.photo_id)["renditions"]["thumb"]["key"]
    s3_bucket.put_object(Bucket=BUCKET, Key=thumb_key, Body=b"FORGED", ContentType="image/jpeg")
    from django.core.cache import cache

    cache.clear()
    url = reception_client.get(reverse("photo_status", args=[pending.photo_id])).json()["thumb_url"]
    assert "versionId=" in url
    assert requests.get(url, timeout=5).content == b"j" * 240 * 10


def test_a_rendition_overwritten_before_reconcile_is_not_pinned(reception_client, pending, s3_bucket):
    manifest = ok_manifest(pending.photo_id)
    put_manifest(s3_bucket, pending.photo_id, manifest)
    s3_bucket.put_object(Bucket=BUCKET, Key=manifest["renditions"]["large"]["key"], Body=b"other image")
    assert reception_client.get(reverse("photo_status", args=[pending.photo_id])).json()["status"] == "pending"


def test_the_breaker_is_shared_by_the_app_processes(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    one, other = s3._Breaker(), s3._Breaker()  # two gunicorn workers
    other.check()
    one.trip()
    with pytest.raises(s3.Unavailable):
        other.check()
    one.reset()
    other._open_until = 0
    other.check()


def test_after_the_open_period_one_caller_probes_the_others_still_fail_fast(settings, tmp_path):
    import os
    import time

    settings.DATA_DIR = tmp_path
    one, other = s3._Breaker(), s3._Breaker()
    one.trip()
    past = time.time() - 1
    os.utime(tmp_path / "s3-breaker", (past, past))  # the open period is over
    one._open_until = other._open_until = 0
    one.check()  # the probe
    with pytest.raises(s3.Unavailable):
        other.check()  # while the probe runs
    one.succeeded()
    other._open_until = 0
    other.check()
