"""Small helpers shared by the local-stack tests."""

from __future__ import annotations

import io
import json
import time

import requests
from PIL import Image

from local.bucket import BUCKET, clients


def jpeg_bytes(width: int = 1200, height: int = 900) -> bytes:
    image = Image.new("RGB", (width, height), (30, 90, 160))
    for x in range(0, width, 40):  # some content, so it is not a trivially flat image
        image.paste((220, 180, 40), (x, 0, x + 20, height))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def browser_post(endpoint: str, key: str, body: bytes, content_type: str, *, presigned_type: str = "image/jpeg"):
    """What the page's XHR does: a multipart POST of the presigned fields, the file last.
    ``content_type`` may differ from what was presigned (moto does not enforce the policy)."""
    s3, _ = clients(endpoint)
    post = s3.generate_presigned_post(
        BUCKET, key, Fields={"Content-Type": presigned_type},
        Conditions=[["content-length-range", 1, 25 * 2**20], ["starts-with", "$Content-Type", "image/"]],
        ExpiresIn=300,
    )
    fields = dict(post["fields"], **{"Content-Type": content_type})
    return requests.post(post["url"], data=fields, files={"file": (key.rsplit("/", 1)[-1], body, content_type)},
                         timeout=10)


def wait_manifest(endpoint: str, photo_id: str, timeout: float = 20) -> dict:
    s3, _ = clients(endpoint)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            body = s3.get_object(Bucket=BUCKET, Key=f"processed/{photo_id}/manifest.json")["Body"].read()
            return json.loads(body)
        except s3.exceptions.NoSuchKey:
            time.sleep(0.2)
    raise AssertionError(f"no manifest for {photo_id} after {timeout} s")
