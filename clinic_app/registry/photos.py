"""Photo upload (presigned POST), confirmation (HEAD) and manifest reconciliation."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, fields
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from . import photo_contract as contract
from . import s3
from .models import Photo, PhotoDeletion

log = logging.getLogger(__name__)

RENDITIONS = tuple(r.name for r in contract.RENDITIONS)
# The sizes a browser picks from for a grid thumbnail / the full-screen view.
THUMB_SET = tuple(r for r in contract.RENDITIONS if r.square)
VIEW_SET = tuple(r for r in contract.RENDITIONS if not r.square)
# How wide a grid thumbnail is drawn, for the browser's srcset choice; follows
# the .gallery columns in app.css (2 per row on phones, 3 on small tablets).
THUMB_SIZES = "(max-width: 479px) 50vw, (max-width: 760px) 33vw, 200px"


# What a phone or desktop may hand over without a type (HEIC and AVIF often):
# the file name's extension -> the type the presigned POST is asked for. The
# processor never trusts either; it identifies the format by content.
NAME_TYPES = {"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp",
              "gif": "image/gif", "heic": "image/heic", "heif": "image/heif", "avif": "image/avif"}
# The file picker's accept attribute: any image, and the extensions a system
# may not map to an image type.
UPLOAD_ACCEPT = ",".join(["image/*", *(f".{ext}" for ext in NAME_TYPES)])


def upload_config() -> dict:
    """What photos.js checks before sending anything, from the contract (the
    page embeds it with json_script; the script restates none of it)."""
    return {
        "max_bytes": settings.PHOTO_MAX_BYTES,
        "types": NAME_TYPES,
        "messages": {"format": s3.error_message(contract.UNSUPPORTED), "big": s3.TOO_BIG_TEXT,
                     "empty": s3.EMPTY_TEXT},
    }


def rendition_url(photo: Photo, name: str) -> str | None:
    """Short-lived presigned GET for a rendition; cached for half its life so a
    page reload reuses the URL (and the browser its cached image)."""
    key = photo.rendition_key(name)
    if photo.status != Photo.Status.OK or not key:
        return None
    if not s3.key_belongs_to(key, s3.processed_prefix(photo.photo_id)):
        log.warning("refusing to link a key outside the photo's own prefix (photo %s)", photo.photo_id)
        return None
    version = ((photo.renditions or {}).get(name) or {}).get("version_id") or None
    cache_key = f"presigned-get:{settings.PHOTO_BUCKET}:{key}:{version}"
    url = cache.get(cache_key)
    if url is None:
        try:
            url = s3.presigned_get(key, version_id=version)
        except Exception:  # no credentials / misconfiguration: page still renders
            log.warning("could not presign a rendition URL", exc_info=True)
            return None
        cache.set(cache_key, url, timeout=settings.PHOTO_URL_EXPIRES // 2)
    return url


def srcset(photo: Photo, specs) -> str:
    """``url 256w, url 640w`` from the renditions the photo has (widths from
    its manifest, so a photo smaller than a box is described truthfully)."""
    parts = []
    for spec in sorted(specs, key=lambda r: r.box):
        url = rendition_url(photo, spec.name)
        width = ((photo.renditions or {}).get(spec.name) or {}).get("width")
        if url and isinstance(width, int) and width > 0:
            parts.append(f"{url} {width}w")
    return ", ".join(parts)


def urls(photo: Photo) -> dict:
    """Everything a page or the status API needs to show an OK photo."""
    data = {f"{name}_url": rendition_url(photo, name) for name in RENDITIONS}
    data["thumb_srcset"] = srcset(photo, THUMB_SET)
    data["view_srcset"] = srcset(photo, VIEW_SET)
    data["thumb_sizes"] = THUMB_SIZES
    return data


def ensure_primary(animal_id: int) -> None:
    """If the animal has no principal photo, make its oldest processed (ok)
    photo the principal one. A pending or failed photo never is."""
    if Photo.objects.filter(animal_id=animal_id, is_primary=True).exists():
        return
    candidate = (Photo.objects.filter(animal_id=animal_id, status=Photo.Status.OK)
                 .order_by("uploaded_at", "id").values_list("pk", flat=True).first())
    if candidate is None:
        return
    try:
        with transaction.atomic():
            Photo.objects.filter(pk=candidate).update(is_primary=True)
    except IntegrityError:
        pass  # another request promoted one first: the animal has its principal photo


def is_timed_out(photo: Photo) -> bool:
    return (photo.status == Photo.Status.PENDING
            and timezone.now() - photo.uploaded_at > timedelta(seconds=settings.PHOTO_PENDING_TIMEOUT))


def reconcile(photo: Photo) -> Photo:
    """If the photo is pending, read its manifest; store a final result once.

    The manifest is parsed by the contract (photo_contract.Manifest), which
    refuses anything malformed, including a rendition outside this photo's
    processed/<photo_id>/: such a manifest fails the photo (invalid_manifest).
    A manifest with a status this contract does not know, one made from another
    object than this photo's upload, or one ahead of its renditions is not final:
    the photo stays pending and is polled again."""
    if photo.status != Photo.Status.PENDING:
        return photo
    raw = s3.read_manifest(photo.photo_id)
    if raw is None:
        return photo
    try:
        manifest = contract.Manifest.from_dict(raw)
    except contract.UnknownStatus:
        log.warning("manifest with unknown status for photo %s", photo.photo_id)
        return photo  # not final: keep polling
    except contract.ManifestError as exc:
        log.warning("malformed manifest for photo %s: %s", photo.photo_id, exc)
        return _store(photo, raw, failure=("invalid_manifest", str(exc)))
    if manifest.photo_id != photo.photo_id:
        log.warning("manifest photo_id mismatch for photo %s", photo.photo_id)
        return _store(photo, raw, failure=("invalid_manifest", "photo_id mismatch"))
    if manifest.source.key != photo.key or manifest.source.bytes not in (None, photo.size):
        # Made from another upload under this photo's prefix (only possible where
        # the POST policy is not enforced, e.g. the local S3): not this photo's.
        log.warning("manifest made from another object than photo %s's upload; ignored", photo.photo_id)
        return photo
    if manifest.status == contract.STATUS_FAILED:
        return _store(photo, raw, failure=(manifest.error.code, manifest.error.message))
    renditions = _pinned_renditions(photo, manifest)
    if renditions is None:
        return photo
    return _store(photo, raw, renditions=renditions)


def _pinned_renditions(photo: Photo, manifest) -> dict | None:
    """The manifest's renditions, each pinned to its current version (versioned
    bucket: links keep showing what the processor wrote even if the key is
    overwritten later); None while an object is missing or differs from the
    manifest (poll again)."""
    renditions = {}
    for name, rendition in manifest.renditions.items():
        meta = s3.head(rendition.key)
        if meta is None:
            return None  # manifest ahead of its objects (eventual listing): poll again
        if meta.get("ContentLength") not in (None, rendition.bytes):
            # overwritten since the manifest (another processing under this
            # prefix): never pin an object the manifest does not describe
            log.warning("rendition %s of photo %s differs from its manifest", name, photo.photo_id)
            return None
        renditions[name] = rendition.to_dict()
        if meta.get("VersionId") and meta["VersionId"] != "null":
            renditions[name]["version_id"] = meta["VersionId"]
    return renditions


def _store(photo: Photo, raw: dict, *, renditions: dict | None = None,
           failure: tuple[str, str] | None = None) -> Photo:
    """Store the final result once (conditional update: two pollers may race)."""
    fields = {
        "status": Photo.Status.FAILED if failure else Photo.Status.OK,
        "renditions": {} if failure else renditions,
        "error_code": failure[0][:50] if failure else "",
        "error_message": failure[1][:500] if failure else "",
        "manifest": raw,
        "processed_at": timezone.now(),
    }
    if failure:
        fields["is_primary"] = False  # a failed photo is never the principal one
    Photo.objects.filter(pk=photo.pk, status=Photo.Status.PENDING).update(**fields)
    ensure_primary(photo.animal_id)
    photo.refresh_from_db()
    return photo


def status_payload(photo: Photo) -> dict:
    data = {"photo_id": photo.photo_id, "status": photo.status, "error": None,
            "is_primary": photo.is_primary, "thumb_srcset": "", "view_srcset": ""}
    data.update({f"{name}_url": None for name in RENDITIONS})
    if photo.status == Photo.Status.OK:
        data.update(urls(photo))
    elif photo.status == Photo.Status.FAILED:
        data["error"] = s3.error_message(photo.error_code)
    elif is_timed_out(photo):
        data["status"] = "failed"
        data["error"] = s3.error_message("timeout")
    return data


@dataclass(frozen=True)
class UploadTicket:
    """What the presign step hands the browser, signed, and the confirm step
    trusts: which photo, at which key, for which animal and user, under what
    name. The signed payload carries these field names as they are (readable
    in a log or a debugger; a renamed field invalidates old tickets loudly)."""

    photo_id: str
    key: str
    animal_id: int
    user_id: int
    original_name: str

    SALT = "registry.photo-upload"

    def sign(self) -> str:
        return signing.dumps(asdict(self), salt=self.SALT)

    @classmethod
    def open(cls, token: str | None, max_age: float) -> UploadTicket | None:
        """The ticket, or None when the token is forged, expired or not one."""
        try:
            data = signing.loads(token or "", salt=cls.SALT, max_age=max_age)
        except signing.BadSignature:
            return None
        names = [f.name for f in fields(cls)]
        if not isinstance(data, dict) or sorted(data) != sorted(names):
            return None
        ticket = cls(**data)
        if not (isinstance(ticket.animal_id, int) and isinstance(ticket.user_id, int)
                and contract.is_photo_id(ticket.photo_id) and isinstance(ticket.original_name, str)
                and isinstance(ticket.key, str)):
            return None
        return ticket


class UploadRefused(Exception):
    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status


def confirm_upload(*, animal, photo_id: str, key: str, original_name: str, user) -> tuple[Photo, bool]:
    """HEAD the uploaded object and record the photo. Returns (photo, created)."""
    existing = Photo.objects.filter(photo_id=photo_id).first()
    if existing is not None:
        return existing, False
    if not s3.key_belongs_to(key, s3.upload_prefix(photo_id)):
        raise UploadRefused("Envio inválido.", 400)
    if PhotoDeletion.objects.filter(photo_id=photo_id).exists():
        raise UploadRefused("Esta foto foi excluída. Envie a foto de novo.", 410)
    meta = s3.head(key)
    if meta is None:
        raise UploadRefused("O arquivo não chegou ao armazenamento. Tente enviar de novo.")
    size = int(meta.get("ContentLength") or 0)
    content_type = (meta.get("ContentType") or "").lower()
    if size < 1 or size > settings.PHOTO_MAX_BYTES:
        s3.delete(key)
        raise UploadRefused(s3.SIZE_RANGE_TEXT)
    if not content_type.startswith("image/"):
        s3.delete(key)
        raise UploadRefused("O arquivo enviado não é uma imagem.")
    # Never the principal photo yet: it becomes one (if the animal has none)
    # only once processed, in reconcile(); a failed upload never does.
    photo = Photo(photo_id=photo_id, animal=animal, key=key, original_name=original_name[:255],
                  content_type=content_type[:100], size=size, uploaded_by=user, is_primary=False)
    try:
        with transaction.atomic():
            photo.save()
    except IntegrityError:
        existing = Photo.objects.filter(photo_id=photo_id).first()
        if existing is not None:
            return existing, False
        raise
    return photo, True
