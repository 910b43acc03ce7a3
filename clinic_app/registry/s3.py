"""S3 access for photos: presigned POST/GET, HEAD, manifest reading.

Keys (the photo-processor contract):
  uploads/<photo_id>/<name>            original, written by the browser
  processed/<photo_id>/manifest.json   written LAST by the processor
  rendition keys                       always taken from the manifest
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import logging
import re
import unicodedata
from functools import lru_cache
from urllib.parse import quote, urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from django.conf import settings

from . import photo_contract as contract

log = logging.getLogger(__name__)

ACCEPTED_TEXT = ", ".join(contract.ACCEPTED_LABELS[:-1]) + " ou " + contract.ACCEPTED_LABELS[-1]
# One pt-BR message per processor failure code (photo_contract.ERROR_CODES).
ERROR_MESSAGES = {
    contract.UNSUPPORTED: f"Formato não suportado: envie uma foto {ACCEPTED_TEXT}.",
    contract.CORRUPT: "O arquivo está corrompido ou incompleto. Envie de novo a partir da foto original.",
    contract.TOO_LARGE: (f"A imagem é grande demais para ser processada (máximo de "
                         f"{contract.MAX_BYTES // 2**20} MB e {contract.MAX_PIXELS // 10**6} megapixels)."),
    "timeout": "O processamento da foto está demorando mais que o esperado. Tente enviar de novo.",
}
GENERIC_ERROR = "Não foi possível processar a foto."


def error_message(code: str | None) -> str:
    return ERROR_MESSAGES.get(code or "", GENERIC_ERROR)


@lru_cache(maxsize=1)
def session():
    return boto3.session.Session()


@lru_cache(maxsize=1)
def client():
    """One cached client (presigning is local CPU work; the client is costly to build)."""
    endpoint = settings.AWS_ENDPOINT_URL
    config = Config(
        signature_version="s3v4",
        s3={"addressing_style": "path" if endpoint else "virtual"},
        retries={"max_attempts": 3, "mode": "standard"},
        connect_timeout=3,
        read_timeout=5,
    )
    return session().client("s3", region_name=settings.AWS_REGION, endpoint_url=endpoint, config=config)


def reset_client() -> None:
    client.cache_clear()
    session.cache_clear()
    _object_url_base.cache_clear()
    _signing_key.cache_clear()


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
    return f"uploads/{photo_id}/{sanitise_filename(filename)}"


def manifest_key(photo_id: str) -> str:
    return f"processed/{photo_id}/manifest.json"


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


def presigned_get_boto3(key: str) -> str:
    return client().generate_presigned_url(
        "get_object",
        Params={"Bucket": settings.PHOTO_BUCKET, "Key": key},
        ExpiresIn=settings.PHOTO_URL_EXPIRES,
    )


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


def presigned_get(key: str, now: datetime.datetime | None = None) -> str:
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
        return client().head_object(Bucket=settings.PHOTO_BUCKET, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise


def delete(key: str) -> None:
    try:
        client().delete_object(Bucket=settings.PHOTO_BUCKET, Key=key)
    except ClientError:
        log.warning("could not delete refused upload object", exc_info=True)


def read_manifest(photo_id: str) -> dict | None:
    """The manifest as a dict, or None while it does not exist (still pending)."""
    try:
        obj = client().get_object(Bucket=settings.PHOTO_BUCKET, Key=manifest_key(photo_id))
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise
    try:
        data = json.loads(obj["Body"].read())
    except (ValueError, UnicodeDecodeError):
        log.warning("unreadable manifest for photo %s", photo_id)
        return None  # maybe caught mid-write by a non-atomic store; retry later
    return data if isinstance(data, dict) else None
