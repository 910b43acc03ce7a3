"""The real runner (`python -m local`): services, persistence across runs, the
consistency rule, --fresh, clean shutdown."""

from __future__ import annotations

import hashlib
import json
import signal
import sqlite3

from registry import photo_contract

from local.bucket import BUCKET, clients
from tests.local import stack as stack_mod
from tests.local.helpers import browser_post, jpeg_bytes, wait_manifest


def _processed_lines(state_dir) -> int:
    return (state_dir / "logs" / "worker.log").read_text().count("INFO local.worker processed ")


def _inject_mirrored(state_dir, key: str, body: bytes, content_type: str) -> None:
    """Put an object in the on-disk mirror as a previous run would have left it."""
    root = state_dir / "s3"
    (root / "objects").mkdir(parents=True, exist_ok=True)
    (root / "objects" / hashlib.sha256(key.encode()).hexdigest()).write_bytes(body)
    index_path = root / "index.json"
    index = json.loads(index_path.read_text()) if index_path.exists() else {}
    index[key] = {"etag": hashlib.md5(body).hexdigest(), "size": len(body), "metadata": {},
                  "content_type": content_type}
    index_path.write_text(json.dumps(index))


def test_photos_survive_a_restart_and_nothing_is_left_running(tmp_path):
    state = tmp_path / "state"
    stack = stack_mod.start(state)
    try:
        out = stack.output()
        assert f"s3      {stack.endpoint}" in out
        assert "worker  lambda_src/handler.py on uploads/ events" in out
        assert f"app     http://127.0.0.1:{stack.app_port}" in out and stack.password
        assert (state / "admin-password").stat().st_mode & 0o777 == 0o600
        assert (state / "secret-key").stat().st_mode & 0o777 == 0o600

        # A browser-style presigned POST is delivered to the worker by a real S3 notification.
        assert browser_post(stack.endpoint, "uploads/p1/foto.jpg", jpeg_bytes(), "image/jpeg").status_code == 204
        manifest = wait_manifest(stack.endpoint, "p1")
        assert manifest["status"] == "ok"
        assert set(manifest["renditions"]) == {r.name for r in photo_contract.RENDITIONS}
    finally:
        assert stack.stop(signal.SIGTERM) == 0
    assert "Stopped." in stack.output()
    index = json.loads((state / "s3" / "index.json").read_text())
    assert {"uploads/p1/foto.jpg", "processed/p1/manifest.json", "processed/p1/thumb.jpg"} <= set(index)
    assert index["processed/p1/thumb.jpg"]["content_type"] == "image/jpeg"
    assert _processed_lines(state) == 1

    # An original whose event was lost (stopped before processing) is processed on the next run.
    _inject_mirrored(state, "uploads/p2/outra.jpg", jpeg_bytes(400, 300), "image/jpeg")

    stack = stack_mod.start(state)
    try:
        assert f"{len(index) + 1} objects restored" in stack.output()
        s3, _ = clients(stack.endpoint)
        thumb = s3.get_object(Bucket=BUCKET, Key="processed/p1/thumb.jpg")
        assert thumb["ContentType"] == "image/jpeg" and thumb["CacheControl"] == "private, max-age=86400"
        assert thumb["Body"].read()
        assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
        assert wait_manifest(stack.endpoint, "p2")["status"] == "ok"
    finally:
        assert stack.stop(signal.SIGINT) == 0  # Ctrl-C
    # p1 was restored without being processed again; p2 was processed once.
    assert _processed_lines(state) == 2


def _insert_photo(db_path, photo_id: str, key: str) -> None:
    with sqlite3.connect(db_path) as conn:
        columns = conn.execute("PRAGMA table_info(registry_photo)").fetchall()
        values = {"photo_id": photo_id, "key": key, "status": "pending", "animal_id": 1,
                  "original_name": "x.jpg", "content_type": "image/jpeg", "size": 10,
                  "uploaded_at": "2026-01-01 00:00:00", "is_primary": 0, "renditions": "{}"}
        for _cid, name, _type, notnull, default, pk in columns:
            if notnull and not pk and name not in values and default is None:
                values[name] = ""
        names = ", ".join(f'"{n}"' for n in values)
        conn.execute(f"INSERT INTO registry_photo ({names}) VALUES ({', '.join('?' * len(values))})",
                     list(values.values()))


def test_a_photo_whose_original_is_gone_is_marked_lost_and_records_are_kept(tmp_path):
    state = tmp_path / "state"
    stack = stack_mod.start(state, "--seed", "3")
    assert stack.stop() == 0
    db = state / "data" / "db" / "clinic.sqlite3"
    with sqlite3.connect(db) as conn:
        animals = conn.execute("SELECT count(*) FROM registry_animal").fetchone()[0]
    assert animals >= 3
    _insert_photo(db, "gone1", "uploads/gone1/x.jpg")

    stack = stack_mod.start(state)
    try:
        out = stack.output()
        assert "1 photo(s) whose original did not reach" in out and "every record is kept" in out
        assert "Starting fresh" not in out
    finally:
        assert stack.stop() == 0
    assert not list(state.glob("previous-*"))
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM registry_animal").fetchone()[0] == animals
        assert conn.execute("SELECT status, error_code FROM registry_photo WHERE photo_id='gone1'").fetchone() == (
            "failed", "lost")


def test_fresh_moves_everything_aside(tmp_path):
    state = tmp_path / "state"
    # --fresh always starts both over, keeping the old state aside.
    stack = stack_mod.start(state, "--fresh")
    try:
        assert "--fresh: previous records and photos moved to" not in stack.output()  # nothing yet
    finally:
        assert stack.stop() == 0
    stack = stack_mod.start(state, "--fresh")
    try:
        assert "--fresh: previous records and photos moved to" in stack.output()
    finally:
        assert stack.stop() == 0
    assert len(list(state.glob("previous-*"))) == 1
