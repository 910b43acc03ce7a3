"""Persistence for moto's in-memory bucket: a mirror on disk.

Layout under the mirror directory::

    index.json            {key: {etag, size, content_type, metadata, ...}}
    objects/<sha256(key)> the bytes (hashed names: keys come from browsers)

``sync`` copies new/changed objects out of the bucket and forgets deleted
ones; ``restore`` puts them back into a fresh bucket. Files are written to a
temporary name and renamed, so a crash never leaves a half object behind.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

log = logging.getLogger(__name__)

# Headers that S3 stores with the object and the app/handler rely on.
_HEADERS = {
    "content_type": "ContentType",
    "cache_control": "CacheControl",
    "content_disposition": "ContentDisposition",
    "content_encoding": "ContentEncoding",
}


class Mirror:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.objects = self.root / "objects"
        self.index_path = self.root / "index.json"
        self.index: dict[str, dict] = self._load()

    def _load(self) -> dict[str, dict]:
        try:
            data = json.loads(self.index_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except ValueError:
            log.warning("unreadable mirror index %s; treating the mirror as empty", self.index_path)
            return {}
        return data if isinstance(data, dict) else {}

    def _file(self, key: str) -> Path:
        return self.objects / hashlib.sha256(key.encode()).hexdigest()

    def keys(self) -> set[str]:
        """Keys whose bytes are really on disk."""
        return {key for key in self.index if self._file(key).is_file()}

    def _save_index(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.index_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.index, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.index_path)

    def sync(self, client, bucket: str) -> tuple[int, int]:
        """Bring the mirror up to date with the bucket; returns (copied, forgotten)."""
        listed: dict[str, dict] = {}
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for obj in page.get("Contents", []):
                listed[obj["Key"]] = obj
        copied = forgotten = 0
        for key, obj in listed.items():
            known = self.index.get(key)
            etag = obj["ETag"].strip('"')
            if known and known.get("etag") == etag and known.get("size") == obj["Size"] and self._file(key).is_file():
                continue
            try:
                got = client.get_object(Bucket=bucket, Key=key)
                body = got["Body"].read()
            except ClientError as err:
                if err.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                    continue  # deleted since the listing
                raise
            self.objects.mkdir(parents=True, exist_ok=True)
            path = self._file(key)
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(body)
            os.replace(tmp, path)
            entry = {"etag": got.get("ETag", obj["ETag"]).strip('"'), "size": len(body),
                     "metadata": got.get("Metadata") or {}}
            for field, header in _HEADERS.items():
                if got.get(header):
                    entry[field] = got[header]
            self.index[key] = entry
            copied += 1
        for key in set(self.index) - set(listed):
            del self.index[key]
            self._file(key).unlink(missing_ok=True)
            forgotten += 1
        if copied or forgotten:
            self._save_index()
        return copied, forgotten

    def restore(self, client, bucket: str, keys) -> int:
        """Put the given mirrored keys back into the bucket; returns how many."""
        n = 0
        for key in sorted(keys):
            entry = self.index.get(key)
            path = self._file(key)
            if entry is None or not path.is_file():
                continue
            extra = {header: entry[field] for field, header in _HEADERS.items() if entry.get(field)}
            client.put_object(Bucket=bucket, Key=key, Body=path.read_bytes(),
                              Metadata=entry.get("metadata") or {}, **extra)
            n += 1
        return n


class MirrorThread(threading.Thread):
    """Syncs every ``interval`` seconds; ``stop()`` does a last sync."""

    def __init__(self, mirror: Mirror, client, bucket: str, interval: float = 1.0):
        super().__init__(name="s3-mirror", daemon=True)
        self.mirror, self.client, self.bucket, self.interval = mirror, client, bucket, interval
        self._stop_event = threading.Event()
        self._lock = threading.Lock()

    def sync_once(self) -> bool:
        with self._lock:
            try:
                self.mirror.sync(self.client, self.bucket)
                return True
            except (BotoCoreError, ClientError, OSError) as err:
                log.warning("s3 mirror sync failed: %s", err)
                return False

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            self.sync_once()

    def stop(self) -> bool:
        """Stop the loop and sync one last time (moto must still be up)."""
        self._stop_event.set()
        if self.is_alive():
            self.join(timeout=30)
        return self.sync_once()
