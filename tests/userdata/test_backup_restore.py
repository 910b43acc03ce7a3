"""clinic_dbbackup.py against moto S3: an online backup while writes go on, and a restore drill."""

from __future__ import annotations

import gzip
import importlib.util
import json
import sqlite3
import threading
import time
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from lambda_src.photo_contract import BACKUPS_PREFIX

SCRIPT = Path(__file__).resolve().parents[2] / "ec2_userdata" / "clinic_dbbackup.py"
BUCKET = "clinic-photos-test"
REGION = "sa-east-1"


def load_module():
    spec = importlib.util.spec_from_file_location("clinic_dbbackup", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


dbbackup = load_module()


def run(*argv: str) -> int:
    # --env-file: never pick up a real /etc/clinic/clinic.env on the test machine.
    return dbbackup.main(["--env-file", "/nonexistent", *argv])


def count(db: Path, table: str = "visits") -> int:
    con = sqlite3.connect(db, timeout=30)
    try:
        return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        con.close()


@pytest.fixture
def s3(monkeypatch):
    for var in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "CLINIC_BACKUP_BUCKET", "CLINIC_BACKUP_PREFIX", "CLINIC_DATA_DIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("CLINIC_BACKUP_PREFIX", BACKUPS_PREFIX)  # what the installer writes, from the stack
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        yield client


@pytest.fixture
def live_db(tmp_path) -> Path:
    """A WAL database like the app's, big enough that a copy takes a moment."""
    db_dir = tmp_path / "data" / "db"
    db_dir.mkdir(parents=True)
    db = db_dir / "clinic.sqlite3"
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE visits (id INTEGER PRIMARY KEY, animal TEXT NOT NULL, notes TEXT NOT NULL)")
    con.executemany(
        "INSERT INTO visits (animal, notes) VALUES (?, ?)", ((f"animal-{i}", "x" * 400) for i in range(20000))
    )
    con.commit()
    con.close()
    return db


class Writer(threading.Thread):
    """Inserts rows in small committed transactions until stopped, like the app."""

    def __init__(self, db: Path) -> None:
        super().__init__(daemon=True)
        self.db = db
        self.stop_event = threading.Event()
        self.inserted = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            con = sqlite3.connect(self.db, timeout=30, isolation_level=None)
            con.execute("PRAGMA busy_timeout=5000")
            con.execute("PRAGMA synchronous=NORMAL")
            while not self.stop_event.is_set():
                con.execute("BEGIN IMMEDIATE")
                con.execute("INSERT INTO visits (animal, notes) VALUES (?, ?)", (f"new-{self.inserted}", "y" * 400))
                con.execute("COMMIT")
                self.inserted += 1
            con.close()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc

    def stop(self) -> None:
        self.stop_event.set()
        self.join(timeout=30)
        if self.error:
            raise self.error


def test_backup_while_writing_then_restore_drill(s3, live_db, tmp_path, capsys):
    writer = Writer(live_db)
    writer.start()
    try:
        while writer.inserted < 200:  # writes are going on
            time.sleep(0.01)
        rows_before = count(live_db)
        assert run("backup", "--db", str(live_db), "--bucket", BUCKET, "--json") == 0
        rows_after = count(live_db)
        inserted_during = writer.inserted
    finally:
        writer.stop()
    summary = json.loads(capsys.readouterr().out)
    key = summary["key"]
    assert key.startswith("backups/clinic-") and key.endswith(".sqlite3.gz")
    assert rows_after > rows_before, "the writer was blocked by the backup"
    assert inserted_during > 200

    # The uploaded object: gzip of a database that passes integrity_check, taken at
    # one point in time between the counts before and after.
    obj = s3.get_object(Bucket=BUCKET, Key=key)
    assert obj["Metadata"]["integrity"] == "ok"
    copy = tmp_path / "downloaded.sqlite3"
    copy.write_bytes(gzip.decompress(obj["Body"].read()))
    con = sqlite3.connect(copy)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # standalone file
    con.close()
    backup_rows = count(copy)
    assert rows_before <= backup_rows <= rows_after
    assert summary["row_counts"]["visits"] == backup_rows
    assert int(obj["Metadata"]["rows"]) == backup_rows

    # list shows it.
    assert run("list", "--bucket", BUCKET) == 0
    assert key in capsys.readouterr().out

    # More writes after the backup, then the restore drill.
    final_rows = count(live_db)
    assert final_rows > backup_rows
    assert run("restore", "--latest", "--yes", "--no-systemd", "--db", str(live_db), "--bucket", BUCKET) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["restored"] == key
    assert count(live_db) == backup_rows  # the restored database is the backup
    con = sqlite3.connect(live_db)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    # The replaced database was moved aside, not deleted, and still holds every row.
    aside = Path(result["moved_aside"])
    assert aside.name.startswith("clinic.sqlite3.before-restore-")
    assert count(aside) == final_rows
    # No temporary files left on the data volume.
    assert not list((live_db.parent / ".backup-tmp").iterdir())


def test_restore_by_key_and_custom_prefix(s3, live_db, capsys):
    assert run("backup", "--db", str(live_db), "--bucket", BUCKET, "--prefix", "backups/nightly") == 0
    key = capsys.readouterr().out.strip()
    assert key.startswith("backups/nightly/clinic-")
    con = sqlite3.connect(live_db)
    con.execute("DELETE FROM visits WHERE id > 100")
    con.commit()
    con.close()
    assert run("restore", "--key", key, "--yes", "--no-systemd", "--db", str(live_db), "--bucket", BUCKET) == 0
    assert count(live_db) == 20000


@pytest.mark.parametrize("command", [["backup", "--db", "x.sqlite3"], ["list"], ["restore", "--latest"]])
def test_no_prefix_no_default(s3, monkeypatch, capsys, command):
    """The prefix is the stack's (clinic.env, from the installer's --backup-prefix): without it the
    tool refuses to guess one that IAM might not allow."""
    monkeypatch.delenv("CLINIC_BACKUP_PREFIX")
    with pytest.raises(SystemExit) as exc:
        run(*command, "--bucket", BUCKET)
    assert exc.value.code == 2 and "--prefix" in capsys.readouterr().err


def test_restore_refuses_a_corrupt_backup(s3, live_db, capsys):
    s3.put_object(
        Bucket=BUCKET, Key=f"{BACKUPS_PREFIX}clinic-29990101T000000Z.sqlite3.gz", Body=gzip.compress(b"not sqlite" * 100)
    )
    rows = count(live_db)
    assert run("restore", "--latest", "--yes", "--no-systemd", "--db", str(live_db), "--bucket", BUCKET) == 1
    assert count(live_db) == rows
    assert not list(live_db.parent.glob("*.before-restore-*"))


def test_restore_needs_yes_without_a_terminal(s3, live_db, monkeypatch, capsys):
    assert run("backup", "--db", str(live_db), "--bucket", BUCKET) == 0
    monkeypatch.setattr("sys.stdin", open("/dev/null"))  # noqa: SIM115
    assert run("restore", "--latest", "--no-systemd", "--db", str(live_db), "--bucket", BUCKET) == 1
    assert "without --yes" in capsys.readouterr().err
    assert not list(live_db.parent.glob("*.before-restore-*"))


def test_snapshot_keeps_the_newest(live_db, tmp_path, capsys):
    dest = tmp_path / "pre-migrate"
    for _ in range(4):
        assert run("snapshot", "--db", str(live_db), "--dest-dir", str(dest), "--keep", "2") == 0
    snaps = sorted(dest.glob("clinic-*.sqlite3"))
    assert len(snaps) == 2
    assert all(count(s) == 20000 for s in snaps)
    assert not list(dest.glob(".*tmp"))
