"""The rule that keeps records and photos together across runs.

Every photo record in the database needs its objects in the bucket mirror: the
original (``Photo.key``), and once processed the manifest and, for an ``ok``
photo, every rendition named in it. If any is missing (the mirror was removed,
or the last run was killed before its final sync), the state is inconsistent
and the runner starts fresh instead of showing records with broken photos.

Reads the SQLite file directly (read-only) so it runs before anything starts.
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
