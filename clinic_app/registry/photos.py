"""Photo upload (presigned POST), confirmation (HEAD) and manifest reconciliation."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
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
    """If the photo is pending, read its manifest; store a final result once."""
    if photo.status != Photo.Status.PENDING:
        return photo
    manifest = s3.read_manifest(photo.photo_id)
    if manifest is None:
        return photo
    status = manifest.get("status")
    renditions = manifest.get("renditions") or {}
    error = manifest.get("error") or {}
    foreign = manifest.get("photo_id") not in (None, photo.photo_id)
    if foreign:
        log.warning("manifest photo_id mismatch for photo %s", photo.photo_id)
        status, error = "failed", {"code": "invalid_manifest", "message": "photo_id mismatch"}
    source = manifest.get("source")
    if not foreign and isinstance(source, dict) and (source.get("key") != photo.key
                                     or source.get("bytes") not in (None, photo.size)):
        # Made from another upload under this photo's prefix (only possible where
        # the POST policy is not enforced, e.g. the local S3): not this photo's.
        log.warning("manifest made from another object than photo %s's upload; ignored", photo.photo_id)
        return photo
    if status == "ok":
        own = s3.processed_prefix(photo.photo_id)
        if not isinstance(renditions, dict) or not all(
            isinstance(renditions.get(n), dict) and renditions[n].get("key") for n in contract.REQUIRED
        ):
            status, error = "failed", {"code": "invalid_manifest", "message": "renditions missing"}
            renditions = {}
        elif not all(s3.key_belongs_to(renditions[n].get("key") or "", own)
                     for n in RENDITIONS if isinstance(renditions.get(n), dict)):
            # a manifest may only point at this photo's own processed/<photo_id>/ objects
            log.warning("manifest names keys outside processed/<photo_id>/ for photo %s", photo.photo_id)
            status, error = "failed", {"code": "invalid_manifest", "message": "rendition outside the photo's prefix"}
            renditions = {}
        else:
            # Optional renditions (older manifests have no thumb_hd) are kept when present.
            renditions = {n: {k: renditions[n].get(k) for k in ("key", "width", "height", "bytes", "content_type")}
                          for n in RENDITIONS if isinstance(renditions.get(n), dict)}
            # Pin each rendition's version (versioned bucket): links keep showing
            # what the processor wrote even if the key is overwritten later.
            for n in renditions:
                meta = s3.head(renditions[n]["key"])
                if meta is None:
                    return photo  # manifest ahead of its objects (eventual listing): poll again
                expected = renditions[n].get("bytes")
                if isinstance(expected, int) and meta.get("ContentLength") not in (None, expected):
                    # overwritten since the manifest (another processing under this
                    # prefix): never pin an object the manifest does not describe
                    log.warning("rendition %s of photo %s differs from its manifest", n, photo.photo_id)
                    return photo
                if meta.get("VersionId") and meta["VersionId"] != "null":
                    renditions[n]["version_id"] = meta["VersionId"]
    elif status == "failed":
        renditions = {}
    else:
        log.warning("manifest with unknown status for photo %s", photo.photo_id)
        return photo  # not final: keep polling
    if not isinstance(error, dict):
        error = {"code": "", "message": str(error)}
    fields = {
        "status": Photo.Status.OK if status == "ok" else Photo.Status.FAILED,
        "renditions": renditions if status == "ok" else {},
        "error_code": "" if status == "ok" else str(error.get("code") or "")[:50],
        "error_message": "" if status == "ok" else str(error.get("message") or "")[:500],
        "manifest": manifest,
        "processed_at": timezone.now(),
    }
    if status == "ok":  # keep only well-formed rendition entries the app knows
        fields["renditions"] = {n: v for n, v in renditions.items() if n in RENDITIONS and isinstance(v, dict)}
    else:
        fields["is_primary"] = False  # a failed photo is never the principal one
    # conditional update: stored once even if two pollers race
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
        raise UploadRefused("A foto deve ter entre 1 byte e 25 MB.")
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
