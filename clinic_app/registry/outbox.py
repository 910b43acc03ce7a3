"""Photo deletion outbox: S3 objects of a deleted photo are removed until S3 confirms.

Deleting a Photo row (app, /admin/, bulk delete, deleting its animal) writes a
PhotoDeletion row in the same transaction (pre_delete signal), plus an audit
entry. ``process_due()`` sweeps ``uploads/<photo_id>/`` and
``processed/<photo_id>/`` and deletes whatever is there; a row is done only when
a sweep finds nothing after ``settle_until`` (renditions a still-running
processor writes after the delete are caught by the later sweeps). Failures
(S3 unreachable, refused) are retried with backoff; nothing is ever dropped.

Run by a daemon thread in each app process (clinic/wsgi.py) and by
``manage.py process_photo_deletions`` (operators, tests, the local stack).
"""

from __future__ import annotations

import contextvars
import logging
import threading
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, transaction
from django.db.models.signals import pre_delete
from django.dispatch import receiver
from django.utils import timezone

from . import locks, s3
from .models import Animal, AuditEntry, Photo, PhotoDeletion, Tutor

log = logging.getLogger(__name__)

# who is acting (set by clinic.middleware.CurrentUserMiddleware) for signal-made audit entries
current_user: contextvars.ContextVar = contextvars.ContextVar("clinic_current_user", default=None)

# seconds until the next sweep, by attempt number (last value repeats)
BACKOFF = (0, 10, 30, 60, 120, 300, 600, 900)


def _who():
    from .audit import address

    user = current_user.get()
    if user is not None and getattr(user, "is_authenticated", False):
        return {"user": user, "username": user.get_username(), "ip_address": address()}
    return {"user": None, "username": "", "ip_address": address()}


@receiver(pre_delete, sender=Photo, dispatch_uid="registry.outbox.photo_deleted")
def photo_deleted(sender, instance: Photo, **kwargs):
    now = timezone.now()
    who = _who()
    PhotoDeletion.objects.update_or_create(
        photo_id=instance.photo_id,
        defaults={"animal_id": instance.animal_id, "original_name": instance.original_name[:255],
                  "requested_by": who["username"], "requested_at": now, "done_at": None,
                  "settle_until": now + timedelta(seconds=settings.PHOTO_DELETE_SETTLE_SECONDS),
                  "next_attempt_at": now},
    )
    AuditEntry.objects.create(object_type="animal", object_id=instance.animal_id, action=AuditEntry.Action.PHOTO,
                              field="foto", old_value=instance.original_name, new_value="Excluída", **who)


@receiver(pre_delete, sender=Animal, dispatch_uid="registry.outbox.animal_deleted")
@receiver(pre_delete, sender=Tutor, dispatch_uid="registry.outbox.tutor_deleted")
def record_deleted(sender, instance, **kwargs):
    AuditEntry.objects.create(object_type=instance._meta.model_name, object_id=instance.pk,
                              action=AuditEntry.Action.DELETE, field="cadastro", old_value=str(instance),
                              new_value="Excluído", **_who())


def process(row: PhotoDeletion, client=None, *, request_path: bool = False) -> bool:
    """One sweep of a deletion; returns True when it is done (confirmed).
    On a request path an unreachable S3 trips the breaker (s3.call's rule)."""
    now = timezone.now()
    try:
        keys = (s3.list_keys(s3.upload_prefix(row.photo_id), client)
                + s3.list_keys(s3.processed_prefix(row.photo_id), client))
        deleted = s3.delete_keys(keys, client) if keys else 0
        error = ""
    except Exception as exc:  # noqa: BLE001 - any failure is retried later, never lost
        deleted, error = 0, f"{type(exc).__name__}: {exc}"[:300]
        if request_path and s3._unreachable(exc):
            s3.breaker.trip()
        log.warning("photo deletion %s: S3 not confirmed yet (%s)", row.photo_id, type(exc).__name__)
    attempts = row.attempts + 1
    done = not error and deleted == 0 and now >= row.settle_until
    fields = {"attempts": attempts, "objects_deleted": row.objects_deleted + deleted, "last_error": error}
    if done:
        fields["done_at"] = now
    else:
        fields["next_attempt_at"] = now + timedelta(seconds=BACKOFF[min(attempts, len(BACKOFF) - 1)])
    with transaction.atomic():
        PhotoDeletion.objects.filter(pk=row.pk, done_at__isnull=True).update(**fields)
        if done and row.animal_id:
            AuditEntry.objects.create(
                object_type="animal", object_id=row.animal_id, action=AuditEntry.Action.PHOTO,
                field="foto", old_value=row.original_name,
                new_value=f"Removida do armazenamento ({fields['objects_deleted']} objeto(s))")
    for k, v in fields.items():
        setattr(row, k, v)
    return done


def process_due(limit: int = 50, client=None) -> int:
    """Sweep the deletions that are due; returns how many were processed."""
    now = timezone.now()
    rows = list(PhotoDeletion.objects.filter(done_at__isnull=True, next_attempt_at__lte=now)
                .order_by("next_attempt_at")[:limit])
    n = 0
    for row in rows:
        # claim it (another worker's thread may be looking at the same row)
        claimed = PhotoDeletion.objects.filter(pk=row.pk, next_attempt_at=row.next_attempt_at,
                                               done_at__isnull=True).update(
            next_attempt_at=now + timedelta(seconds=60))
        if claimed:
            process(row, client)
            n += 1
    return n


def try_now(photo_id: str) -> None:
    """Right after a deletion commits, on the request path: one quick sweep with
    the request client (short timeouts, breaker); failures stay in the outbox."""
    row = PhotoDeletion.objects.filter(photo_id=photo_id, done_at__isnull=True).first()
    if row is None:
        return
    try:
        s3.breaker.check()
    except s3.Unavailable:
        return
    process(row, s3.client(), request_path=True)


_thread_started = threading.Event()


def start_background(interval: float = 30.0) -> None:
    """A daemon thread per app process sweeping due deletions every `interval` s."""
    if _thread_started.is_set():
        return
    _thread_started.set()

    def loop():
        stop = threading.Event()
        while not stop.wait(interval):
            try:
                close_old_connections()
                # Mode ha: one instance sweeps per round (advisory lock); the
                # per-row compare-and-set claim in process_due() keeps each
                # deletion to one worker even without it.
                with locks.try_exclusive("photo-deletion-outbox") as mine:
                    if mine:
                        process_due()
            except Exception:  # noqa: BLE001 - keep the loop alive; rows stay due
                log.warning("photo deletion sweep failed", exc_info=True)
            finally:
                close_old_connections()

    threading.Thread(target=loop, name="photo-deletion-outbox", daemon=True).start()
