"""The app's own upload checks, against the local stack over HTTP.

moto does not enforce presigned-POST policy conditions (content-length-range,
starts-with $Content-Type), so the HEAD the app does on confirm is the only
guard locally, and must hold on its own: these tests upload what the policy
would have refused on AWS and check that the app refuses it and deletes it.
"""

from __future__ import annotations

import re
import time

import pytest
import requests

from local.bucket import BUCKET, clients
from tests.local import stack as stack_mod
from tests.local.helpers import jpeg_bytes


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    stack = stack_mod.start(tmp_path_factory.mktemp("upload-checks"), "--seed", "2")
    yield stack
    assert stack.stop() == 0


@pytest.fixture(scope="module")
def session(stack):
    s = requests.Session()
    page = s.get(f"{stack.url}entrar/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    resp = s.post(f"{stack.url}entrar/", data={"username": "admin", "password": stack.password,
                                               "csrfmiddlewaretoken": token},
                  headers={"Referer": f"{stack.url}entrar/"}, timeout=10)
    assert resp.url.endswith("/animais/"), "sign-in failed"
    s.headers["X-CSRFToken"] = s.cookies["csrftoken"]
    s.headers["Accept"] = "application/json"
    s.animal_id = int(re.search(r'data-animal-id="(\d+)"', resp.text).group(1))
    return s


def _presign(stack, session, name="foto.jpg", content_type="image/jpeg", size=1000):
    resp = session.post(f"{stack.url}api/animais/{session.animal_id}/fotos/presign",
                        data={"filename": name, "content_type": content_type, "size": size}, timeout=10)
    assert resp.status_code == 200, resp.text
    return resp.json()


def _upload(presign, body: bytes, content_type: str):
    fields = dict(presign["fields"], **{"Content-Type": content_type})
    return requests.post(presign["url"], data=fields, files={"file": ("f", body, content_type)}, timeout=60)


def _confirm(stack, session, presign):
    return session.post(f"{stack.url}api/animais/{session.animal_id}/fotos/confirm",
                        data={"token": presign["token"]}, timeout=30)


def _exists(stack, key: str) -> bool:
    s3, _ = clients(stack.endpoint)
    try:
        s3.head_object(Bucket=BUCKET, Key=key)
        return True
    except s3.exceptions.ClientError:
        return False


@pytest.mark.parametrize(("body", "content_type", "message"), [
    (b"just text", "text/plain", "não é uma imagem"),
    (b"", "image/jpeg", "entre 1 byte e 25 MB"),
    (b"\xff" * (25 * 2**20 + 1), "image/jpeg", "entre 1 byte e 25 MB"),
], ids=["not-image-type", "empty", "over-25MB"])
def test_confirm_refuses_what_the_post_policy_would_have(stack, session, body, content_type, message):
    presign = _presign(stack, session)
    # moto accepts it (AWS would answer 403 to this policy violation) ...
    assert _upload(presign, body, content_type).status_code == 204
    assert _exists(stack, presign["key"])
    # ... so the app's HEAD check is what refuses it, and it removes the object.
    resp = _confirm(stack, session, presign)
    assert resp.status_code == 400
    assert message in resp.json()["error"]
    assert not _exists(stack, presign["key"])


def test_confirm_without_an_upload_is_refused(stack, session):
    resp = _confirm(stack, session, _presign(stack, session))
    assert resp.status_code == 400 and "não chegou" in resp.json()["error"]


def test_a_real_photo_is_confirmed_and_processed(stack, session):
    data = jpeg_bytes()
    presign = _presign(stack, session, size=len(data))
    assert _upload(presign, data, "image/jpeg").status_code == 204
    resp = _confirm(stack, session, presign)
    assert resp.status_code == 201, resp.text
    deadline = time.monotonic() + 20
    while True:
        status = session.get(f"{stack.url}api/fotos/{presign['photo_id']}", timeout=10).json()
        if status["status"] != "pending" or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert status["status"] == "ok", status
    thumb = requests.get(status["thumb_url"], timeout=10)  # presigned GET against the local endpoint
    assert thumb.status_code == 200 and thumb.headers["Content-Type"] == "image/jpeg"
