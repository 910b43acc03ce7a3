"""S3 access for photos: presigned POST/GET, HEAD, manifest reading.

Keys and the manifest's shape are the photo contract's (photo_contract.py:
upload_key, processed_prefix, manifest_key, Manifest); rendition keys are always
taken from the manifest.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import logging
import os
import re
import threading
import time
import unicodedata
from functools import lru_cache
from urllib.parse import quote, urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings

from . import photo_contract as contract

log = logging.getLogger(__name__)

ACCEPTED_TEXT = ", ".join(contract.ACCEPTED_LABELS[:-1]) + " ou " + contract.ACCEPTED_LABELS[-1]
# One pt-BR message per processor failure code (photo_contract.ERROR_CODES).
ERROR_MESSAGES = {
    contract.UNSUPPORTED: f"Formato não suportado: envie uma foto {ACCEPTED_TEXT}.",
    contract.CORRUPT: "O arquivo está corrompido ou incompleto. Envie de novo a partir da foto original.",
    contract.TOO_LARGE: (f"A imagem é grande demais para ser processada (máximo de "
                         f"{contract.MAX_MEGABYTES} MB e {contract.MAX_MEGAPIXELS} megapixels)."),
    "timeout": "O processamento da foto está demorando mais que o esperado. Tente enviar de novo.",
    # set by the local stack (local/consistency.py LOST_CODE) when an original never reached its disk
    "lost": "O arquivo desta foto se perdeu antes de ser gravado. Exclua esta foto e envie-a de novo.",
}
GENERIC_ERROR = "Não foi possível processar a foto."
# The byte limit as the app says it (the presign answer and the confirm check).
TOO_BIG_TEXT = f"A foto deve ter no máximo {contract.MAX_MEGABYTES} MB."
SIZE_RANGE_TEXT = f"A foto deve ter entre 1 byte e {contract.MAX_MEGABYTES} MB."
EMPTY_TEXT = "O arquivo está vazio."
NOT_AN_IMAGE_TEXT = f"Escolha um arquivo de imagem ({ACCEPTED_TEXT})."


def error_message(code: str | None) -> str:
    return ERROR_MESSAGES.get(code or "", GENERIC_ERROR)


@lru_cache(maxsize=1)
def session():
    return boto3.session.Session()


def _make_client(connect: float, read: float, attempts: int):
    endpoint = settings.AWS_ENDPOINT_URL
    config = Config(
        signature_version="s3v4",
        s3={"addressing_style": "path" if endpoint else "virtual"},
        # total_max_attempts counts the first call (1 = no retry); botocore's
        # max_attempts would count retries only (3 meant 4 calls of up to 5 s)
        retries={"total_max_attempts": attempts, "mode": "standard"},
        connect_timeout=connect,
        read_timeout=read,
        tcp_keepalive=True,
    )
    return session().client("s3", region_name=settings.AWS_REGION, endpoint_url=endpoint, config=config)


@lru_cache(maxsize=1)
def client():
    """The request-path client: short timeouts, no retries (a hung S3 costs a
    request at most S3_CONNECT_TIMEOUT + S3_READ_TIMEOUT, never a retry storm).
    Cached: presigning is local CPU work; the client is costly to build."""
    return _make_client(settings.S3_CONNECT_TIMEOUT, settings.S3_READ_TIMEOUT, 1)


@lru_cache(maxsize=1)
def background_client():
    """For the deletion outbox (off the request path): longer timeouts, retries."""
    return _make_client(5, 20, 3)


def reset_client() -> None:
    client.cache_clear()
    background_client.cache_clear()
    session.cache_clear()
    _object_url_base.cache_clear()
    _signing_key.cache_clear()
    breaker.reset()


# --- circuit breaker -----------------------------------------------------------
# After a connection failure or timeout, request-path calls fail fast for
# S3_BREAKER_SECONDS instead of each holding a worker for the full timeout.

class Unavailable(Exception):
    """S3 did not answer (or recently did not): the caller answers 503/retry."""


class _Breaker:
    """Open for S3_BREAKER_SECONDS after S3 did not answer. Shared by every
    worker process of the app through a file's modification time in the data
    directory (one stat per check), so one hung call spares all the workers."""

    def __init__(self):
        self._lock = threading.Lock()
        self._open_until = 0.0

    def _path(self):
        from pathlib import Path

        return Path(settings.DATA_DIR) / "s3-breaker"

    def reset(self):
        with self._lock:
            self._open_until = 0.0
        try:
            self._path().unlink(missing_ok=True)
        except OSError:
            pass

    def check(self):
        """Raise while open. When an open period ends, the first caller gets
        to probe S3 (half-open): the others keep failing fast until the probe
        succeeds (reset) or fails (trip), so a still-hung S3 holds one worker
        per period, not every worker at once."""
        now = time.time()
        if now < self._open_until:
            raise Unavailable("S3 recently unreachable")
        path = self._path()
        try:
            shared = path.stat().st_mtime
        except OSError:
            return  # closed: S3 answered last time
        if now < shared:
            self._open_until = shared
            raise Unavailable("S3 recently unreachable (another worker)")
        probe = now + settings.S3_CONNECT_TIMEOUT + settings.S3_READ_TIMEOUT + 1
        try:
            os.utime(path, (probe, probe))  # claim the probe
        except OSError:
            pass

    def succeeded(self):
        if self._open_until or self._path().exists():
            self.reset()

    def trip(self):
        until = time.time() + settings.S3_BREAKER_SECONDS
        with self._lock:
            self._open_until = until
        path = self._path()
        try:
            path.touch(exist_ok=True)
            os.utime(path, (until, until))
        except OSError:  # read-only data dir: this process still fails fast
            pass


breaker = _Breaker()


def _unreachable(exc: Exception) -> bool:
    if isinstance(exc, BotoCoreError):  # connect/read timeouts, connection errors
        return True
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        return status >= 500
    return False


def call(fn, *args, **kwargs):
    """Run one request-path S3 call through the breaker."""
    breaker.check()
    try:
        result = fn(*args, **kwargs)
    except Exception as exc:
        if _unreachable(exc):
            breaker.trip()
            raise Unavailable(str(exc)) from exc
        breaker.succeeded()  # S3 answered (e.g. 404)
        raise
    breaker.succeeded()
    return result


def sanitise_filename(name: str) -> str:
    """ASCII-only, no path parts, safe for an S3 key and a Content-Disposition."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip(".-_")
    if not name:
        name = "foto"
    if len(name) > 100:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 100 - len(ext) - 1] + "." + ext) if dot and len(ext) <= 10 else name[:100]
    return name


def upload_key(photo_id: str, filename: str) -> str:
    return contract.upload_key(photo_id, sanitise_filename(filename))


# Key layout and confinement: the contract's, never restated here.
upload_prefix = contract.upload_prefix
processed_prefix = contract.processed_prefix
manifest_key = contract.manifest_key
key_belongs_to = contract.key_belongs_to


def presigned_post(key: str, content_type: str) -> dict:
    return client().generate_presigned_post(
        Bucket=settings.PHOTO_BUCKET,
        Key=key,
        Fields={"Content-Type": content_type},
        Conditions=[
            ["content-length-range", 1, settings.PHOTO_MAX_BYTES],
            ["starts-with", "$Content-Type", "image/"],
        ],
        ExpiresIn=settings.PHOTO_UPLOAD_EXPIRES,
    )


def presigned_get_boto3(key: str, version_id: str | None = None) -> str:
    params = {"Bucket": settings.PHOTO_BUCKET, "Key": key}
    if version_id:
        params["VersionId"] = version_id
    return client().generate_presigned_url("get_object", Params=params, ExpiresIn=settings.PHOTO_URL_EXPIRES)


# --- fast presigned GET --------------------------------------------------------
# boto3's generate_presigned_url costs ~0.5 ms (endpoint rules, event hooks);
# a list page presigns up to 100 thumbnails. This is the same SigV4 query
# signature (AWS4-HMAC-SHA256, UNSIGNED-PAYLOAD, host header only), computed
# directly: ~20x faster. The URL base (scheme, host, bucket addressing) is taken
# from one boto3-generated URL, and tests compare both byte for byte.

_PROBE = "__probe__"


@lru_cache(maxsize=1)
def _object_url_base() -> tuple[str, str, str]:
    """(scheme://host, path prefix before the key, host) exactly as boto3 builds them."""
    parts = urlsplit(presigned_get_boto3(_PROBE))
    if not parts.path.endswith("/" + _PROBE):
        raise RuntimeError("unexpected presigned URL shape")
    return f"{parts.scheme}://{parts.netloc}", parts.path[: -len(_PROBE)], parts.netloc


@lru_cache(maxsize=8)
def _signing_key(secret: str, day: str, region: str) -> bytes:
    key = ("AWS4" + secret).encode()
    for part in (day, region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def presigned_get(key: str, now: datetime.datetime | None = None, version_id: str | None = None) -> str:
    """Presigned GET of ``key``; with ``version_id`` it serves that version only
    (an object overwritten later, e.g. by a forged local upload, is not what the
    link shows)."""
    creds = session().get_credentials()
    if creds is None:
        raise RuntimeError("no AWS credentials")
    frozen = creds.get_frozen_credentials()  # refreshes instance-role credentials when due
    origin, prefix, host = _object_url_base()
    now = now or datetime.datetime.now(datetime.UTC)
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    region = settings.AWS_REGION
    scope = f"{day}/{region}/s3/aws4_request"
    params = {
        "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
        "X-Amz-Credential": f"{frozen.access_key}/{scope}",
        "X-Amz-Date": amz_date,
        "X-Amz-Expires": str(settings.PHOTO_URL_EXPIRES),
        "X-Amz-SignedHeaders": "host",
    }
    if frozen.token:
        params["X-Amz-Security-Token"] = frozen.token
    if version_id:
        params = {"versionId": version_id, **params}  # boto3 puts the request's own parameter first
    encoded = [(quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in params.items()]
    canonical_query = "&".join(f"{k}={v}" for k, v in sorted(encoded))
    query = "&".join(f"{k}={v}" for k, v in encoded)  # boto3's order (the token last)
    path = prefix + quote(key, safe="/~")
    canonical = f"GET\n{path}\n{canonical_query}\nhost:{host}\n\nhost\nUNSIGNED-PAYLOAD"
    to_sign = f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    signature = hmac.new(_signing_key(frozen.secret_key, day, region), to_sign.encode(), hashlib.sha256).hexdigest()
    return f"{origin}{path}?{query}&X-Amz-Signature={signature}"


def head(key: str) -> dict | None:
    try:
        return call(client().head_object, Bucket=settings.PHOTO_BUCKET, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise


def delete(key: str) -> None:
    """Best effort (a refused upload); leftovers under uploads/ are the
    outbox's or the lifecycle rule's."""
    try:
        call(client().delete_object, Bucket=settings.PHOTO_BUCKET, Key=key)
    except (ClientError, Unavailable):
        log.warning("could not delete refused upload object", exc_info=True)


def list_keys(prefix: str, c=None) -> list[str]:
    c = c or background_client()
    keys: list[str] = []
    token = None
    while True:
        kwargs = {"Bucket": settings.PHOTO_BUCKET, "Prefix": prefix}
        if token:
            kwargs["ContinuationToken"] = token
        page = c.list_objects_v2(**kwargs)
        keys += [o["Key"] for o in page.get("Contents", [])]
        if not page.get("IsTruncated"):
            return keys
        token = page.get("NextContinuationToken")


def delete_keys(keys: list[str], c=None) -> int:
    """DeleteObjects in batches; raises unless S3 confirms every key."""
    c = c or background_client()
    done = 0
    for i in range(0, len(keys), 1000):
        batch = keys[i:i + 1000]
        out = c.delete_objects(Bucket=settings.PHOTO_BUCKET,
                               Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True})
        if out.get("Errors"):
            raise RuntimeError(f"S3 refused {len(out['Errors'])} deletion(s): {out['Errors'][0].get('Code')}")
        done += len(batch)
    return done


def read_manifest(photo_id: str) -> dict | None:
    """The manifest as a dict, or None while it does not exist (still pending)."""
    try:
        obj = call(client().get_object, Bucket=settings.PHOTO_BUCKET, Key=manifest_key(photo_id))
        raw = call(obj["Body"].read)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        log.warning("unreadable manifest for photo %s", photo_id)
        return None  # maybe caught mid-write by a non-atomic store; retry later
    return data if isinstance(data, dict) else None
