"""The agreement between the photo processor and the clinic app, defined once.

Standard library only. It ships twice from this one file: in the Lambda code
asset (it lives in lambda_src/) and in the app's wheel, where
``clinic_app/registry/photo_contract.py`` is a symbolic link to this file
(setuptools copies the target's content into the wheel). Nothing else may
restate these names, sizes or codes: import them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

# --- limits -------------------------------------------------------------------
MAX_BYTES = 25 * 1024 * 1024  # the presigned POST, the app's HEAD check, the processor
MAX_PIXELS = 50_000_000  # declared in the header; refused before any pixel is decoded
# The same limits as people read them ("25 MB", "50 megapixels"): messages take these.
MAX_MEGABYTES = MAX_BYTES // (1024 * 1024)
MAX_MEGAPIXELS = MAX_PIXELS // 1_000_000

# --- formats ------------------------------------------------------------------
# What the processor accepts, identified by content (never by name or type).
# The labels are what people read in messages.
ACCEPTED_LABELS = ("JPEG", "PNG", "WebP", "GIF", "HEIC/HEIF", "AVIF")


# --- renditions ---------------------------------------------------------------
@dataclass(frozen=True)
class RenditionSpec:
    name: str
    box: int  # longest side (or the side of the square), in pixels
    square: bool  # centre-cropped square (grid thumbnails) or the whole photo


# Order matters: the processor makes each from the one before when it can.
RENDITIONS = (
    RenditionSpec("large", 1600, square=False),  # the full-screen view
    RenditionSpec("medium", 800, square=False),  # the full-screen view on small screens
    RenditionSpec("thumb_hd", 640, square=True),  # grid thumbnails on 2x/3x screens
    RenditionSpec("thumb", 256, square=True),  # grid thumbnails on 1x screens, lists
)
BY_NAME = {r.name: r for r in RENDITIONS}
# A manifest marked "ok" must name these; newer renditions are optional, so a
# photo processed before they existed still shows (with the ones it has).
REQUIRED = ("large", "medium", "thumb")
EXTENSION = "jpg"
CONTENT_TYPE = "image/jpeg"

# --- failure codes in a "failed" manifest ---------------------------------------
UNSUPPORTED = "unsupported"  # not one of ACCEPTED_LABELS (or a codec inside one we cannot decode)
CORRUPT = "corrupt"  # an accepted format, but damaged or truncated
TOO_LARGE = "too_large"  # over MAX_BYTES or MAX_PIXELS
ERROR_CODES = (UNSUPPORTED, CORRUPT, TOO_LARGE)

# --- bucket layout ----------------------------------------------------------------
# One bucket, three prefixes. IAM (stacks/), the trigger's filter, the processor,
# the app, the local runner and the instance's backup tool all take them from here.
UPLOADS_PREFIX = "uploads/"  # uploads/<photo_id>/<name>: the original, written by the browser
PROCESSED_PREFIX = "processed/"  # processed/<photo_id>/<rendition>.jpg and manifest.json (last)
BACKUPS_PREFIX = "backups/"  # the instance's SQLite backups (mode single)
MANIFEST_NAME = "manifest.json"
MANIFEST_CONTENT_TYPE = "application/json"

_SAFE_NAME = re.compile(r"[A-Za-z0-9._-]{1,200}")


def is_photo_id(value) -> bool:
    """A photo id is one safe path segment (the app makes 32 hex digits)."""
    return isinstance(value, str) and bool(_SAFE_NAME.fullmatch(value)) and value not in (".", "..")


def _checked(photo_id: str) -> str:
    if not is_photo_id(photo_id):
        raise ValueError(f"not a photo id: {photo_id!r}")
    return photo_id


def upload_prefix(photo_id: str) -> str:
    return f"{UPLOADS_PREFIX}{_checked(photo_id)}/"


def upload_key(photo_id: str, name: str) -> str:
    """``uploads/<photo_id>/<name>``; ``name`` must already be one safe segment."""
    if not _SAFE_NAME.fullmatch(name or "") or name in (".", ".."):
        raise ValueError(f"not a safe file name: {name!r}")
    return f"{upload_prefix(photo_id)}{name}"


def processed_prefix(photo_id: str) -> str:
    return f"{PROCESSED_PREFIX}{_checked(photo_id)}/"


def rendition_key(photo_id: str, rendition: str) -> str:
    return f"{processed_prefix(photo_id)}{rendition}.{EXTENSION}"


def manifest_key(photo_id: str) -> str:
    return f"{processed_prefix(photo_id)}{MANIFEST_NAME}"


def key_belongs_to(key, prefix: str) -> bool:
    """True only for ``<prefix><one safe name>``: no other photo's prefix, no
    '..', no sub-folders, no odd characters."""
    if not isinstance(key, str) or not key.startswith(prefix):
        return False
    tail = key[len(prefix):]
    return bool(_SAFE_NAME.fullmatch(tail)) and tail not in (".", "..")


def photo_id_of_upload(key: str) -> str | None:
    """``uploads/<photo_id>/<anything>`` -> photo_id, else None (the processor's
    trigger may deliver any key under the prefix; only this shape is a photo)."""
    if not isinstance(key, str) or not key.startswith(UPLOADS_PREFIX):
        return None
    photo_id, sep, rest = key[len(UPLOADS_PREFIX):].partition("/")
    if not sep or not rest or rest.endswith("/") or not is_photo_id(photo_id):
        return None
    return photo_id


def photo_id_of_manifest(key: str) -> str | None:
    """``processed/<photo_id>/manifest.json`` -> photo_id, else None."""
    if not isinstance(key, str) or not key.startswith(PROCESSED_PREFIX):
        return None
    photo_id, sep, rest = key[len(PROCESSED_PREFIX):].partition("/")
    return photo_id if sep and rest == MANIFEST_NAME and is_photo_id(photo_id) else None


# --- the manifest -------------------------------------------------------------------
# Written last by the processor under processed/<photo_id>/manifest.json; read by
# the app (registry/photos.reconcile) and the local runner. ``from_json`` refuses
# anything that is not exactly this shape.
STATUS_OK = "ok"
STATUS_FAILED = "failed"
STATUSES = (STATUS_OK, STATUS_FAILED)


class ManifestError(ValueError):
    """The manifest is malformed: wrong types, missing fields, foreign keys."""


class UnknownStatus(ManifestError):
    """A status this contract does not know (not final for this reader)."""


def _int(value, where: str, *, optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ManifestError(f"{where}: expected a non-negative integer, got {type(value).__name__}")
    return value


def _str(value, where: str, *, optional: bool = False, limit: int = 2000) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise ManifestError(f"{where}: expected a string of at most {limit} characters")
    return value


def _dict(value, where: str) -> dict:
    if not isinstance(value, dict):
        raise ManifestError(f"{where}: expected an object, got {type(value).__name__}")
    return value


@dataclass(frozen=True)
class Rendition:
    key: str
    width: int
    height: int
    bytes: int
    content_type: str = CONTENT_TYPE

    def to_dict(self) -> dict:
        return {"key": self.key, "width": self.width, "height": self.height, "bytes": self.bytes,
                "content_type": self.content_type}

    @classmethod
    def from_dict(cls, data, where: str) -> Rendition:
        data = _dict(data, where)
        return cls(key=_str(data.get("key"), f"{where}.key"), width=_int(data.get("width"), f"{where}.width"),
                   height=_int(data.get("height"), f"{where}.height"),
                   bytes=_int(data.get("bytes"), f"{where}.bytes"),
                   content_type=_str(data.get("content_type"), f"{where}.content_type", limit=100))


@dataclass(frozen=True)
class Source:
    key: str
    bytes: int | None = None
    format: str | None = None
    width: int | None = None
    height: int | None = None

    def to_dict(self) -> dict:
        return {"key": self.key, "bytes": self.bytes, "format": self.format, "width": self.width,
                "height": self.height}

    @classmethod
    def from_dict(cls, data) -> Source:
        data = _dict(data, "source")
        return cls(key=_str(data.get("key"), "source.key"),
                   bytes=_int(data.get("bytes"), "source.bytes", optional=True),
                   format=_str(data.get("format"), "source.format", optional=True, limit=50),
                   width=_int(data.get("width"), "source.width", optional=True),
                   height=_int(data.get("height"), "source.height", optional=True))


@dataclass(frozen=True)
class Failure:
    code: str
    message: str

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message}

    @classmethod
    def from_dict(cls, data) -> Failure:
        data = _dict(data, "error")
        code = _str(data.get("code"), "error.code", limit=50)
        if not code:
            raise ManifestError("error.code: empty")
        return cls(code=code, message=_str(data.get("message"), "error.message", limit=500))


@dataclass(frozen=True)
class Manifest:
    photo_id: str
    status: str
    source: Source
    renditions: dict[str, Rendition] = field(default_factory=dict)
    error: Failure | None = None
    processed_at: str = ""
    processor_version: str = ""

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """The rules every manifest obeys, whoever built it (raises ManifestError)."""
        if not is_photo_id(self.photo_id):
            raise ManifestError("photo_id: not a photo id")
        if self.status not in STATUSES:
            raise UnknownStatus(f"status: unknown value {self.status!r}")
        own = processed_prefix(self.photo_id)
        for name, rendition in self.renditions.items():
            if name not in BY_NAME:
                raise ManifestError(f"renditions: unknown rendition {name!r}")
            if not key_belongs_to(rendition.key, own):
                raise ManifestError(f"renditions.{name}.key: outside {PROCESSED_PREFIX}<photo_id>/")
        if self.status == STATUS_OK:
            missing = [n for n in REQUIRED if n not in self.renditions]
            if missing:
                raise ManifestError(f"renditions: missing {', '.join(missing)}")
            if self.error is not None:
                raise ManifestError("error: must be null when status is ok")
        else:
            if self.renditions:
                raise ManifestError("renditions: must be empty when status is failed")
            if self.error is None:
                raise ManifestError("error: required when status is failed")

    def to_dict(self) -> dict:
        return {
            "photo_id": self.photo_id,
            "status": self.status,
            "source": self.source.to_dict(),
            "renditions": {n: r.to_dict() for n, r in self.renditions.items()},
            "error": self.error.to_dict() if self.error else None,
            "processed_at": self.processed_at,
            "processor_version": self.processor_version,
        }

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), ensure_ascii=False).encode("utf-8")

    @classmethod
    def from_dict(cls, data) -> Manifest:
        data = _dict(data, "manifest")
        status = data.get("status")
        if not isinstance(status, str) or status not in STATUSES:
            raise UnknownStatus(f"status: unknown value {status!r}")
        renditions = _dict(data.get("renditions"), "renditions")
        error = data.get("error")
        return cls(
            photo_id=_str(data.get("photo_id"), "photo_id", limit=200),
            status=status,
            source=Source.from_dict(data.get("source")),
            renditions={_str(n, "renditions", limit=50): Rendition.from_dict(v, f"renditions.{n}")
                        for n, v in renditions.items()},
            error=None if error is None else Failure.from_dict(error),
            processed_at=_str(data.get("processed_at"), "processed_at", limit=64),
            processor_version=_str(data.get("processor_version"), "processor_version", limit=64),
        )

    @classmethod
    def from_json(cls, raw: bytes | str) -> Manifest:
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ManifestError(f"not JSON: {exc}") from None
        return cls.from_dict(data)
