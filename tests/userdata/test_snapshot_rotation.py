"""The installer's pre-migrate snapshot rotation, checked by WHICH snapshots are kept.

`clinic_dbbackup.py snapshot --keep N` (run by install_clinic.sh before every
migrate) must keep the snapshot it just took plus the newest N-1 before it,
remove exactly the older ones, and never touch a file that is not one of its
snapshots (a copy an operator put there by hand, a temp file of another run).
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import pytest

from tests.userdata.test_backup_restore import dbbackup, run

DAY = 86400


@pytest.fixture
def small_db(tmp_path) -> Path:
    db = tmp_path / "clinic.sqlite3"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE visits (id INTEGER PRIMARY KEY, animal TEXT NOT NULL)")
    con.executemany("INSERT INTO visits (animal) VALUES (?)", ((f"animal-{i}",) for i in range(50)))
    con.commit()
    con.close()
    return db


def old_snapshot(dest: Path, name: str, age_days: float) -> Path:
    path = dest / name
    path.write_bytes(b"old snapshot " + name.encode())
    t = time.time() - age_days * DAY
    os.utime(path, (t, t))
    return path


def snapshot(db: Path, dest: Path, keep: int, capsys) -> Path:
    assert run("snapshot", "--db", str(db), "--dest-dir", str(dest), "--keep", str(keep)) == 0
    return Path(capsys.readouterr().out.strip().splitlines()[-1])


def test_keeps_the_new_snapshot_and_the_newest_older_ones(small_db, tmp_path, capsys):
    dest = tmp_path / "pre-migrate"
    dest.mkdir()
    # names and ages disagree on purpose for two of them (a clock fixed after a
    # bad boot): age (mtime) decides, as the installer documents
    olds = {
        "a": old_snapshot(dest, "clinic-20260101T000000Z.sqlite3", 40),
        "b": old_snapshot(dest, "clinic-20260301T000000Z.sqlite3", 30),
        "c": old_snapshot(dest, "clinic-20260201T000000Z.sqlite3", 3),   # newest of the old ones
        "d": old_snapshot(dest, "clinic-20260401T000000Z.sqlite3", 10),
        "e": old_snapshot(dest, "clinic-20260115T000000Z-1.sqlite3", 5),
    }
    # not snapshots: never removed, whatever their age
    foreign = [old_snapshot(dest, "clinic-manual-copy.sqlite3.bak", 100),
               old_snapshot(dest, "before-upgrade.sqlite3", 100),
               old_snapshot(dest, "notes.txt", 100)]

    new = snapshot(small_db, dest, 3, capsys)

    assert new.parent == dest and new.exists()
    kept = {p.name for p in dest.glob("clinic-*.sqlite3")}
    assert kept == {new.name, olds["c"].name, olds["e"].name}
    for key in ("a", "b", "d"):
        assert not olds[key].exists(), f"{olds[key].name} should have been rotated away"
    assert all(p.exists() for p in foreign)
    # the kept new snapshot is a complete, readable copy
    con = sqlite3.connect(new)
    try:
        assert con.execute("SELECT count(*) FROM visits").fetchone()[0] == 50
    finally:
        con.close()


def test_the_snapshot_just_taken_is_never_rotated_away(small_db, tmp_path, capsys):
    """An old snapshot dated in the future (clock skew) must not push out the new one."""
    dest = tmp_path / "pre-migrate"
    dest.mkdir()
    future = old_snapshot(dest, "clinic-20991231T000000Z.sqlite3", -30)
    older = old_snapshot(dest, "clinic-20260101T000000Z.sqlite3", 10)
    new = snapshot(small_db, dest, 2, capsys)
    assert new.exists(), "the backup taken before the migration was deleted"
    assert {p.name for p in dest.glob("clinic-*.sqlite3")} == {new.name, future.name}
    assert not older.exists()
    # keep 1: only the new one
    new2 = snapshot(small_db, dest, 1, capsys)
    assert [p.name for p in dest.glob("clinic-*.sqlite3")] == [new2.name]


def test_successive_runs_keep_the_last_n(small_db, tmp_path, capsys):
    dest = tmp_path / "pre-migrate"
    kept: list[str] = []
    for i in range(5):
        new = snapshot(small_db, dest, 3, capsys)
        t = time.time() - (10 - i) * DAY  # age them so the order is unambiguous
        os.utime(new, (t, t))
        kept = (kept + [new.name])[-3:]
        assert sorted(p.name for p in dest.glob("clinic-*.sqlite3")) == sorted(kept), f"after run {i + 1}"
    assert dbbackup.utc_stamp()[:4] in kept[-1]
