"""The rule that keeps records and photos together across runs.

Every photo record in the database needs its objects in the bucket mirror: the
original (``Photo.key``), and once processed the manifest and, for an ``ok``
photo, every rendition named in it. A missing object costs only its photo,
never the clinic's records (a kill -9 of the local S3 right after an upload
loses at most the objects of the last second):

* original present, derived objects missing: the photo goes back to pending and
  its original is processed again (``repair`` returns it as to-reprocess);
* original missing: the photo is marked failed with code ``lost`` (the app
  says so in pt-BR; the user deletes it and uploads again).

Runs on the SQLite file directly, before anything starts.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

MANIFEST = "processed/{photo_id}/manifest.json"


def required_objects(db_path: Path) -> dict[str, list[str]]:
    """photo_id -> S3 keys its record needs."""
    uri = f"file:{db_path}?mode=ro"
    with sqlite3.connect(uri, uri=True) as conn:
        try:
            rows = conn.execute("SELECT photo_id, key, status, renditions FROM registry_photo").fetchall()
        except sqlite3.OperationalError:  # not migrated yet: no photos
            return {}
    needed: dict[str, list[str]] = {}
    for photo_id, key, status, renditions in rows:
        keys = [key]
        if status in ("ok", "failed"):
            keys.append(MANIFEST.format(photo_id=photo_id))
        if status == "ok":
            try:
                data = json.loads(renditions or "{}")
            except ValueError:
                data = {}
            keys += [info["key"] for info in data.values() if isinstance(info, dict) and info.get("key")]
        needed[photo_id] = keys
    return needed


def missing_objects(db_path: Path, mirrored: set[str]) -> list[str]:
    """Keys that records in ``db_path`` need but the mirror lacks (sorted)."""
    if not db_path.exists():
        return []
    return sorted({key for keys in required_objects(db_path).values() for key in keys} - mirrored)


def unprocessed_uploads(mirrored: set[str]) -> set[str]:
    """Originals with no manifest yet: their event was lost with the last run's queue."""
    manifests = {k for k in mirrored if k.startswith("processed/") and k.endswith("/manifest.json")}
    out = set()
    for key in mirrored:
        if not key.startswith("uploads/"):
            continue
        photo_id = key.split("/")[1]
        if MANIFEST.format(photo_id=photo_id) not in manifests:
            out.add(key)
    return out


LOST_CODE = "lost"  # registry.s3.ERROR_MESSAGES has its pt-BR text


def repair(db_path: Path, mirrored: set[str]) -> tuple[list[str], list[str], set[str]]:
    """Fix the records whose objects are missing; returns (lost photo ids,
    reprocessed photo ids, mirrored keys not to restore: stale derived objects
    of reprocessed photos)."""
    if not db_path.exists():
        return [], [], set()
    needed = required_objects(db_path)
    with sqlite3.connect(db_path) as conn:
        keys = dict(conn.execute("SELECT photo_id, key FROM registry_photo").fetchall()) if needed else {}
    lost, again, stale = [], [], set()
    for photo_id, keys_needed in needed.items():
        missing = [k for k in keys_needed if k not in mirrored]
        if not missing:
            continue
        if keys.get(photo_id) in mirrored:
            again.append(photo_id)
            prefix = f"processed/{photo_id}/"
            stale |= {k for k in mirrored if k.startswith(prefix)}
        else:
            lost.append(photo_id)
    if lost or again:
        with sqlite3.connect(db_path) as conn:
            conn.execute("PRAGMA busy_timeout=5000")
            conn.executemany(
                "UPDATE registry_photo SET status='failed', error_code=?, renditions='{}', manifest=NULL, "
                "error_message='original missing after an unclean stop of the local S3' WHERE photo_id=?",
                [(LOST_CODE, p) for p in lost])
            conn.executemany(
                "UPDATE registry_photo SET status='pending', error_code='', error_message='', renditions='{}', "
                "manifest=NULL, processed_at=NULL WHERE photo_id=?", [(p,) for p in again])
    return sorted(lost), sorted(again), stale
