"""S3 glue for the photo processor (the image work is in imaging.py).

Contract (the app and the local runner rely on it):

* ``handler(event, context)`` takes standard S3 event notifications; keys are
  URL-encoded (``unquote_plus``).
* Originals are ``uploads/<photo_id>/<anything>``; anything else is ignored.
* Output under ``processed/<photo_id>/``: ``large.jpg``, ``medium.jpg``,
  ``thumb.jpg`` and, written last, ``manifest.json``.

Errors: a file that can never succeed (not an image, broken, too big, deleted
before we got to it) is recorded in a ``failed`` manifest (or just logged if
the object is gone) and never raises, so Lambda does not retry it. AWS errors
(throttling, 5xx, network) do raise, so the async retry and the on-failure
destination take over.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from urllib.parse import unquote_plus

import boto3
import imaging
from botocore.exceptions import ClientError
from jsonlog import get_logger, set_request_id

UPLOADS = "uploads/"
PROCESSED = "processed/"
RENDITION_CACHE_CONTROL = "private, max-age=86400"
MANIFEST_CACHE_CONTROL = "no-cache"

log = get_logger(os.environ.get("POWERTOOLS_SERVICE_NAME", "photo-processor"))
_s3 = None

# The object is gone or was replaced since the event: retrying cannot help
# (a replacement has its own event).
_GONE = {"NoSuchKey", "404", "NotFound", "PreconditionFailed", "412"}


def s3():
    """One client per container, created on first use (honours AWS_ENDPOINT_URL)."""
    global _s3
    if _s3 is None:
        _s3 = boto3.client("s3")
    return _s3


def photo_id_of(key: str) -> str | None:
    """``uploads/<photo_id>/<anything>`` -> photo_id, else None."""
    if not key.startswith(UPLOADS):
        return None
    photo_id, sep, rest = key[len(UPLOADS):].partition("/")
    if not photo_id or not sep or not rest or rest.endswith("/"):
        return None
    if photo_id in (".", "..") or any(ord(c) < 32 for c in photo_id):
        return None
    return photo_id


def rendition_key(photo_id: str, name: str) -> str:
    return f"{PROCESSED}{photo_id}/{name}.{imaging.EXTENSION}"


def manifest_key(photo_id: str) -> str:
    return f"{PROCESSED}{photo_id}/manifest.json"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _error_code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


def handler(event, context):
    set_request_id(getattr(context, "aws_request_id", None))
    summary = {"ok": 0, "failed": 0, "skipped": 0}
    for record in (event or {}).get("Records", []):
        outcome = process_record(record)
        summary[outcome] += 1
    return summary


def process_record(record: dict) -> str:
    event_name = record.get("eventName", "ObjectCreated:Put")
    s3_info = record.get("s3", {})
    bucket = s3_info.get("bucket", {}).get("name")
    raw_key = s3_info.get("object", {}).get("key", "")
    key = unquote_plus(raw_key)
    photo_id = photo_id_of(key)
    if not bucket or photo_id is None or not event_name.startswith("ObjectCreated"):
        # No key in the log: it may hold a file name, i.e. personal data.
        reason = "event type" if photo_id is not None else "not uploads/<photo_id>/<name>"
        log.info("ignored", extra={"fields": {"event_name": event_name, "reason": reason}})
        return "skipped"

    fields = {"photo_id": photo_id}
    started = time.perf_counter()
    timings = {}
    client = s3()

    try:
        head = client.head_object(Bucket=bucket, Key=key)
    except ClientError as err:
        if _error_code(err) in _GONE and _object_is_gone(client, bucket, key):
            log.warning("original gone, skipped", extra={"fields": fields})
            return "skipped"
        raise
    size = head["ContentLength"]
    fields["source_bytes"] = size
    timings["head"] = _ms(started)

    source = {"key": key, "bytes": size, "format": None, "width": None, "height": None}

    if size > imaging.MAX_BYTES:
        rejected = imaging.ImageRejected(
            imaging.contract.TOO_LARGE,
            f"The file is {size / 2**20:.1f} MB; the limit is "
            f"{imaging.MAX_BYTES / 2**20:.0f} MB.",
        )
        return _fail(client, bucket, photo_id, source, rejected, fields, timings, started)

    t = time.perf_counter()
    try:
        # IfMatch: if the object was replaced after the HEAD, the replacement
        # has its own event; don't process a file we did not size-check.
        body = client.get_object(Bucket=bucket, Key=key, IfMatch=head["ETag"])["Body"].read()
    except ClientError as err:
        if _error_code(err) in _GONE:
            log.warning("original gone or replaced, skipped", extra={"fields": fields})
            return "skipped"
        raise
    timings["get"] = _ms(t)

    try:
        result = imaging.process(body)
    except imaging.ImageRejected as rejected:
        return _fail(client, bucket, photo_id, source, rejected, fields, timings, started)
    except Exception as exc:  # noqa: BLE001 - a file that trips a bug must not be retried forever
        # imaging is pure (no AWS calls), so this is the file meeting a bug in
        # our code or Pillow: the same bytes would fail the same way on every
        # retry. Record it, and log it loudly (type only: no bytes, no name).
        log.error("processing error", extra={"fields": {**fields, "exception": type(exc).__name__}})
        rejected = imaging.ImageRejected(imaging.contract.CORRUPT, "The image could not be processed.")
        return _fail(client, bucket, photo_id, source, rejected, fields, timings, started)
    finally:
        del body

    source.update(format=result.format, width=result.width, height=result.height)
    timings.update({f"image_{k}": v for k, v in result.timings_ms.items()})

    t = time.perf_counter()
    renditions = {}
    for r in result.renditions:
        rkey = rendition_key(photo_id, r.name)
        client.put_object(
            Bucket=bucket,
            Key=rkey,
            Body=r.data,
            ContentType=r.content_type,
            CacheControl=RENDITION_CACHE_CONTROL,
        )
        renditions[r.name] = {
            "key": rkey,
            "width": r.width,
            "height": r.height,
            "bytes": len(r.data),
            "content_type": r.content_type,
        }
    timings["put"] = _ms(t)
    _put_manifest(client, bucket, photo_id, "ok", source, renditions, None)
    timings["total"] = _ms(started)
    log.info(
        "processed",
        extra={"fields": {
            **fields,
            "status": "ok",
            "format": result.format,
            "width": result.width,
            "height": result.height,
            "rendition_bytes": {n: v["bytes"] for n, v in renditions.items()},
            "timings_ms": timings,
        }},
    )
    return "ok"


def _object_is_gone(client, bucket: str, key: str) -> bool:
    """A HEAD 404 has no body, so it cannot tell a deleted key (skip) from a
    missing bucket or wrong configuration (raise). A 1-byte GET can."""
    try:
        client.get_object(Bucket=bucket, Key=key, Range="bytes=0-0")
    except ClientError as err:
        return _error_code(err) == "NoSuchKey"
    return False  # it exists after all: raise, the retry will process it


def _fail(client, bucket, photo_id, source, rejected, fields, timings, started) -> str:
    for k in ("format", "width", "height"):
        if rejected.source.get(k) is not None:
            source[k] = rejected.source[k]
    error = {"code": rejected.code, "message": rejected.message}
    _put_manifest(client, bucket, photo_id, "failed", source, {}, error)
    timings["total"] = _ms(started)
    log.warning(
        "rejected",
        extra={"fields": {**fields, "status": "failed", "error_code": rejected.code,
                          "timings_ms": timings}},
    )
    return "failed"


def _put_manifest(client, bucket, photo_id, status, source, renditions, error) -> None:
    manifest = {
        "photo_id": photo_id,
        "status": status,
        "source": source,
        "renditions": renditions,
        "error": error,
        "processed_at": _now(),
        "processor_version": imaging.PROCESSOR_VERSION,
    }
    client.put_object(
        Bucket=bucket,
        Key=manifest_key(photo_id),
        Body=json.dumps(manifest, ensure_ascii=False).encode("utf-8"),
        ContentType="application/json",
        CacheControl=MANIFEST_CACHE_CONTROL,
    )


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)
