"""S3 glue for the photo processor (the image work is in imaging.py).

``handler(event, context)`` takes standard S3 event notifications
(s3_event.py parses them, for the local worker too). For each original
(``photo_contract.upload_key``; anything else is ignored), four short steps:

1. ``fetch_original``: HEAD (size check against photo_contract.MAX_BYTES), then
   GET with If-Match on the HEAD's ETag;
2. ``process``: imaging.process (pure Pillow) -> renditions;
3. ``write_renditions``: each at ``photo_contract.rendition_key``;
4. ``write_manifest``: the ``photo_contract.Manifest``, written last, at
   ``photo_contract.manifest_key``.

Errors: a file that can never succeed (not an image, broken, too big, deleted
before we got to it) is recorded in a ``failed`` manifest (or just logged if
the object is gone) and never raises, so Lambda does not retry it. AWS errors
(throttling, 5xx, network) do raise, so the async retry and the on-failure
destination take over.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import boto3
import imaging
import photo_contract as contract
import s3_event
from botocore.exceptions import ClientError
from jsonlog import BoundLogger, bound, set_request_id

SERVICE = "photo-processor"  # the "service" field of every log line
RENDITION_CACHE_CONTROL = "private, max-age=86400"
MANIFEST_CACHE_CONTROL = "no-cache"

log = bound(SERVICE)
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


class Skipped(Exception):
    """Nothing to do for this object (gone or replaced): logged, never retried."""


@dataclass
class Job:
    """One original being processed: where it is, what we learnt, how long each step took."""

    client: object
    bucket: str
    key: str
    photo_id: str
    log: BoundLogger
    started: float = field(default_factory=time.perf_counter)
    timings: dict = field(default_factory=dict)
    source: dict = field(default_factory=dict)
    renditions: dict = field(default_factory=dict)

    def time(self, step: str, since: float) -> None:
        self.timings[step] = _ms(since)


def handler(event, context):
    set_request_id(getattr(context, "aws_request_id", None))
    summary = {"ok": 0, "failed": 0, "skipped": 0}
    for obj in s3_event.objects(event):
        summary[process_object(obj)] += 1
    return summary


def process_object(obj: s3_event.S3Object) -> str:
    """'ok', 'failed' (a failed manifest was written) or 'skipped'."""
    photo_id = contract.photo_id_of_upload(obj.key)
    if not obj.bucket or photo_id is None or not obj.created:
        # No key in the log: it may hold a file name, i.e. personal data.
        log.info("ignored", event_name=obj.event_name,
                 reason="event type" if photo_id is not None else "not an upload key")
        return "skipped"
    job = Job(client=s3(), bucket=obj.bucket, key=obj.key, photo_id=photo_id, log=log.bind(photo_id=photo_id))
    try:
        result = process(job, fetch_original(job))  # the original's bytes are freed once processed
    except Skipped as skipped:
        job.log.warning(str(skipped))
        return "skipped"
    except imaging.ImageRejected as rejected:
        return write_failure(job, rejected)
    write_renditions(job, result)
    write_manifest(job, contract.STATUS_OK, renditions=job.renditions)
    job.time("total", job.started)
    job.log.info("processed", status="ok", format=result.format, width=result.width, height=result.height,
                 rendition_bytes={n: r.bytes for n, r in job.renditions.items()}, timings_ms=job.timings)
    return "ok"


def fetch_original(job: Job) -> bytes:
    """HEAD then GET (If-Match the HEAD's ETag: a replacement has its own event and
    we never process a file we did not size-check). Raises Skipped or ImageRejected."""
    try:
        head = job.client.head_object(Bucket=job.bucket, Key=job.key)
    except ClientError as err:
        if _error_code(err) in _GONE and _object_is_gone(job.client, job.bucket, job.key):
            raise Skipped("original gone, skipped") from None
        raise
    size = head["ContentLength"]
    job.log = job.log.bind(source_bytes=size)
    job.source = {"key": job.key, "bytes": size, "format": None, "width": None, "height": None}
    job.time("head", job.started)
    if size > contract.MAX_BYTES:
        raise imaging.ImageRejected(
            contract.TOO_LARGE,
            f"The file is {size / 2**20:.1f} MB; the limit is {contract.MAX_MEGABYTES} MB.",
        )
    t = time.perf_counter()
    try:
        body = job.client.get_object(Bucket=job.bucket, Key=job.key, IfMatch=head["ETag"])["Body"].read()
    except ClientError as err:
        if _error_code(err) in _GONE:
            raise Skipped("original gone or replaced, skipped") from None
        raise
    job.time("get", t)
    return body


def process(job: Job, original: bytes) -> imaging.Result:
    """imaging.process; a file that trips a bug in our code or Pillow is recorded as
    corrupt (imaging is pure: the same bytes would fail the same way on every retry)."""
    try:
        result = imaging.process(original)
    except imaging.ImageRejected:
        raise
    except Exception as exc:  # noqa: BLE001 - a file that trips a bug must not be retried forever
        job.log.error("processing error", exception=type(exc).__name__)  # type only: no bytes, no name
        raise imaging.ImageRejected(contract.CORRUPT, "The image could not be processed.") from None
    job.source.update(format=result.format, width=result.width, height=result.height)
    job.timings.update({f"image_{k}": v for k, v in result.timings_ms.items()})
    return result


def write_renditions(job: Job, result: imaging.Result) -> None:
    t = time.perf_counter()
    for r in result.renditions:
        key = contract.rendition_key(job.photo_id, r.name)
        job.client.put_object(Bucket=job.bucket, Key=key, Body=r.data, ContentType=r.content_type,
                              CacheControl=RENDITION_CACHE_CONTROL)
        job.renditions[r.name] = contract.Rendition(key=key, width=r.width, height=r.height, bytes=len(r.data),
                                                    content_type=r.content_type)
    job.time("put", t)


def write_failure(job: Job, rejected: imaging.ImageRejected) -> str:
    for k in ("format", "width", "height"):
        if rejected.source.get(k) is not None:
            job.source[k] = rejected.source[k]
    write_manifest(job, contract.STATUS_FAILED, error=contract.Failure(code=rejected.code, message=rejected.message))
    job.time("total", job.started)
    job.log.warning("rejected", status="failed", error_code=rejected.code, timings_ms=job.timings)
    return "failed"


def write_manifest(job: Job, status: str, *, renditions=None, error=None) -> None:
    manifest = contract.Manifest(
        photo_id=job.photo_id,
        status=status,
        source=contract.Source(**job.source),
        renditions=renditions or {},
        error=error,
        processed_at=_now(),
        processor_version=imaging.PROCESSOR_VERSION,
    )
    job.client.put_object(Bucket=job.bucket, Key=contract.manifest_key(job.photo_id), Body=manifest.to_json(),
                          ContentType=contract.MANIFEST_CONTENT_TYPE, CacheControl=MANIFEST_CACHE_CONTROL)


def _object_is_gone(client, bucket: str, key: str) -> bool:
    """A HEAD 404 has no body, so it cannot tell a deleted key (skip) from a
    missing bucket or wrong configuration (raise). A 1-byte GET can."""
    try:
        client.get_object(Bucket=bucket, Key=key, Range="bytes=0-0")
    except ClientError as err:
        return _error_code(err) == "NoSuchKey"
    return False  # it exists after all: raise, the retry will process it


def _error_code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)
