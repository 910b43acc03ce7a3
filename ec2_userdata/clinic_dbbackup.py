#!/usr/bin/env python3
"""Online backup and restore of the clinic's SQLite database (stdlib sqlite3 + boto3).

Subcommands:
  backup    copy the live database with SQLite's online backup API (consistent
            while the app writes), check it, gzip it and upload it to
            s3://<bucket>/<prefix>clinic-<UTC timestamp>.sqlite3.gz; prints the key
  list      list the backups in the bucket, oldest first
  restore   download a backup (--key K or --latest), check it, stop gunicorn,
            move the current database aside (never deleted), install the copy,
            start gunicorn
  snapshot  local online copy into a directory, keeping the newest --keep
            (the installer's pre-migrate backup)

Defaults come from the environment, and from /etc/clinic/clinic.env (--env-file)
for variables not already set: CLINIC_DATA_DIR, CLINIC_BACKUP_BUCKET,
CLINIC_BACKUP_PREFIX, AWS_REGION (AWS_ENDPOINT_URL is honoured by boto3).

Restore on the instance (see docs/operations.md):
  sudo /opt/clinic/venv/bin/python /opt/clinic/bin/clinic_dbbackup.py restore --latest
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

# The app's environment variable names (clinic_app/clinic/envvars.py): this tool
# runs in the app's venv (/opt/clinic/venv), which has the app's wheel.
from clinic import envvars as E

DEFAULT_ENV_FILE = "/etc/clinic/clinic.env"
SERVICE = "clinic-gunicorn.service"
KEY_PREFIX = "clinic-"
KEY_SUFFIX = ".sqlite3.gz"


class BackupError(Exception):
    pass


# ---------------------------------------------------------------- helpers
def load_env_file(path: str | None) -> None:
    """KEY='value' lines (as install_clinic.sh writes them) -> os.environ, without overriding."""
    if not path:
        return
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError:
        return
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        os.environ.setdefault(key.strip(), value)


def utc_stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def log(msg: str) -> None:
    print(f"clinic_dbbackup: {msg}", file=sys.stderr, flush=True)


def online_copy(src: Path, dest: Path) -> None:
    """Consistent copy of a live database (WAL or not) with the sqlite3 backup API."""
    if not src.is_file():
        raise BackupError(f"database not found: {src}")
    # Not mode=ro: a read-only connection cannot create the -shm of a WAL
    # database that no one has open. Nothing is written through it.
    source = sqlite3.connect(src, timeout=60)
    try:
        target = sqlite3.connect(dest)
        try:
            # pages=-1: one step, one read transaction -> a single point in time
            # (a stepwise copy restarts whenever another connection writes).
            source.backup(target, pages=-1)
            target.execute("PRAGMA journal_mode=DELETE")  # a standalone single file
            target.commit()
        finally:
            target.close()
    finally:
        source.close()


def check_database(path: Path) -> dict[str, int]:
    """PRAGMA integrity_check must say ok; returns the row count of every table."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        result = [r[0] for r in con.execute("PRAGMA integrity_check")]
        if result != ["ok"]:
            raise BackupError(f"integrity_check failed for {path}: {'; '.join(map(str, result[:5]))}")
        tables = [
            r[0]
            for r in con.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        return {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a usable SQLite database: {exc}") from None
    finally:
        con.close()


def work_dir(db: Path) -> Path:
    """Temporary files live next to the database (the encrypted data volume), not in /tmp."""
    d = db.parent / ".backup-tmp"
    d.mkdir(mode=0o700, exist_ok=True)
    if os.geteuid() == 0:  # a restore run by root must not lock the nightly backup (clinic) out
        st = db.parent.stat()
        os.chown(d, st.st_uid, st.st_gid)
    return d


def s3_client():
    import boto3

    region = os.environ.get(E.AWS_REGION) or os.environ.get(E.AWS_DEFAULT_REGION)
    return boto3.client("s3", region_name=region)


def norm_prefix(prefix: str) -> str:
    prefix = prefix.lstrip("/")
    return prefix if not prefix or prefix.endswith("/") else prefix + "/"


def list_backups(client, bucket: str, prefix: str) -> list[dict]:
    items = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            name = obj["Key"][len(prefix) :]
            if name.startswith(KEY_PREFIX) and name.endswith(KEY_SUFFIX) and "/" not in name:
                items.append(obj)
    return sorted(items, key=lambda o: o["Key"])  # the UTC timestamp in the name sorts in time


def systemctl(action: str) -> None:
    log(f"systemctl {action} {SERVICE}")
    subprocess.run(["systemctl", action, SERVICE], check=True)


# ---------------------------------------------------------------- commands
def cmd_backup(args) -> int:
    db = Path(args.db)
    prefix = norm_prefix(args.prefix)
    key = f"{prefix}{KEY_PREFIX}{utc_stamp()}{KEY_SUFFIX}"
    tmp = Path(tempfile.mkdtemp(prefix="backup-", dir=work_dir(db)))
    try:
        copy = tmp / "clinic.sqlite3"
        online_copy(db, copy)
        counts = check_database(copy)
        packed = tmp / "clinic.sqlite3.gz"
        with copy.open("rb") as fin, gzip.GzipFile(packed, "wb", compresslevel=6, mtime=0) as fout:
            shutil.copyfileobj(fin, fout, 1024 * 1024)
        metadata = {
            "integrity": "ok",
            "tables": str(len(counts)),
            "rows": str(sum(counts.values())),
            "source-host": socket.gethostname()[:100],
            "source-db": str(db)[:200],
        }
        s3_client().upload_file(
            str(packed), args.bucket, key, ExtraArgs={"Metadata": metadata, "ContentType": "application/gzip"}
        )
        log(f"uploaded s3://{args.bucket}/{key} ({packed.stat().st_size} bytes, {metadata['rows']} rows)")
        print(json.dumps({"bucket": args.bucket, "key": key, "row_counts": counts}) if args.json else key)
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def cmd_list(args) -> int:
    for obj in list_backups(s3_client(), args.bucket, norm_prefix(args.prefix)):
        print(f"{obj['LastModified']:%Y-%m-%d %H:%M:%S}  {obj['Size']:>12}  {obj['Key']}")
    return 0


def cmd_restore(args) -> int:
    """Download and check a backup, ask (unless --yes), then swap it in with gunicorn stopped."""
    db = Path(args.db)
    client = s3_client()
    key = args.key or latest_backup_key(client, args.bucket, norm_prefix(args.prefix))
    db.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="restore-", dir=work_dir(db)))
    try:
        restored, counts = download_checked(client, args.bucket, key, tmp)
        if not args.yes and not confirmed(db, key):
            log("cancelled")
            return 1
        if not args.no_systemd:
            systemctl("stop")
        try:
            aside = swap_in(restored, db)
        finally:
            if not args.no_systemd:
                systemctl("start")
        print(
            json.dumps(
                {"restored": key, "db": str(db), "moved_aside": str(aside) if aside else None, "row_counts": counts}
            )
        )
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def latest_backup_key(client, bucket: str, prefix: str) -> str:
    backups = list_backups(client, bucket, prefix)
    if not backups:
        raise BackupError(f"no backups under s3://{bucket}/{prefix}")
    return backups[-1]["Key"]


def download_checked(client, bucket: str, key: str, tmp: Path) -> tuple[Path, dict[str, int]]:
    """Download, decompress and integrity-check a backup into ``tmp``; returns (file, row counts)."""
    packed = tmp / "download.sqlite3.gz"
    log(f"downloading s3://{bucket}/{key}")
    client.download_file(bucket, key, str(packed))
    restored = tmp / "clinic.sqlite3"
    try:
        with gzip.open(packed, "rb") as fin, restored.open("wb") as fout:
            shutil.copyfileobj(fin, fout, 1024 * 1024)
    except (OSError, EOFError) as exc:
        raise BackupError(f"cannot decompress {key}: {exc}") from None
    counts = check_database(restored)
    log(f"backup {key} passes integrity_check: {sum(counts.values())} rows in {len(counts)} tables")
    return restored, counts


def confirmed(db: Path, key: str) -> bool:
    if not sys.stdin.isatty():
        raise BackupError("refusing to replace the database without --yes (no terminal to ask)")
    answer = input(f"Replace {db} with {key}? The current database is kept aside. [y/N] ")
    return answer.strip().lower() in {"y", "yes", "s", "sim"}


def swap_in(restored: Path, db: Path) -> Path | None:
    """Move the current database (and its WAL) aside, never deleted, and put ``restored``
    in its place with the directory's owner; returns where the old one went."""
    aside = None
    if db.exists():
        aside = db.with_name(f"{db.name}.before-restore-{utc_stamp()}")
        os.replace(db, aside)
        # Keep the WAL with its database: it may hold committed pages.
        for suffix in ("-wal", "-shm"):
            side = Path(f"{db}{suffix}")
            if side.exists():
                os.replace(side, Path(f"{aside}{suffix}"))
        log(f"current database moved aside to {aside}")
    for suffix in ("-wal", "-shm", "-journal"):  # stale companions must not meet the new file
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    st = db.parent.stat()
    os.chmod(restored, 0o640)
    if os.geteuid() == 0:
        os.chown(restored, st.st_uid, st.st_gid)
    os.replace(restored, db)
    return aside


def cmd_snapshot(args) -> int:
    db = Path(args.db)
    dest_dir = Path(args.dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    stamp = utc_stamp()
    dest = dest_dir / f"clinic-{stamp}.sqlite3"
    n = 1
    while dest.exists():
        dest = dest_dir / f"clinic-{stamp}-{n}.sqlite3"
        n += 1
    tmp = dest.with_name(f".{dest.name}.tmp")
    try:
        online_copy(db, tmp)
        counts = check_database(tmp)
        os.chmod(tmp, 0o640)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    log(f"snapshot {dest} ({sum(counts.values())} rows)")
    # the snapshot just taken is never a candidate, whatever the clock said about the others
    snapshots = sorted((p for p in dest_dir.glob("clinic-*.sqlite3") if p != dest),
                       key=lambda p: (p.stat().st_mtime, p.name))
    for old in snapshots[: max(0, len(snapshots) + 1 - args.keep)]:
        old.unlink()
        log(f"removed old snapshot {old}")
    print(dest)
    return 0


# ---------------------------------------------------------------- CLI
def parser() -> argparse.ArgumentParser:
    data_dir = os.environ.get(E.DATA_DIR, "/data")
    default_db = str(Path(data_dir) / "db" / "clinic.sqlite3")
    bucket = os.environ.get(E.BACKUP_BUCKET) or os.environ.get(E.PHOTO_BUCKET)
    # No default: the stack passes the prefix (photo_contract.BACKUPS_PREFIX) to the
    # installer, which writes it to clinic.env; IAM allows exactly that prefix.
    prefix = os.environ.get(E.BACKUP_PREFIX) or None

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--env-file", default=DEFAULT_ENV_FILE, help=argparse.SUPPRESS)
    sub = p.add_subparsers(dest="command", required=True)

    def s3_opts(sp):
        sp.add_argument("--bucket", default=bucket, required=bucket is None, help=f"default: ${E.BACKUP_BUCKET}")
        sp.add_argument("--prefix", default=prefix, required=prefix is None, help=f"default: ${E.BACKUP_PREFIX}")

    b = sub.add_parser("backup", help="online backup to S3")
    b.add_argument("--db", default=default_db)
    b.add_argument("--json", action="store_true", help="print a JSON summary instead of the key")
    s3_opts(b)
    b.set_defaults(func=cmd_backup)

    ls = sub.add_parser("list", help="list backups in S3")
    s3_opts(ls)
    ls.set_defaults(func=cmd_list)

    r = sub.add_parser("restore", help="restore a backup from S3")
    which = r.add_mutually_exclusive_group(required=True)
    which.add_argument("--key", help="object key, e.g. <prefix>clinic-20250101T053000Z.sqlite3.gz")
    which.add_argument("--latest", action="store_true", help="the newest backup")
    r.add_argument("--db", default=default_db)
    r.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    r.add_argument("--no-systemd", action="store_true", help="do not stop/start clinic-gunicorn")
    s3_opts(r)
    r.set_defaults(func=cmd_restore)

    s = sub.add_parser("snapshot", help="local online copy (pre-migrate)")
    s.add_argument("--db", default=default_db)
    s.add_argument("--dest-dir", required=True)
    s.add_argument("--keep", type=int, default=5)
    s.set_defaults(func=cmd_snapshot)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # The env file supplies defaults, so read it before building the parser.
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--env-file", default=DEFAULT_ENV_FILE)
    known, _ = pre.parse_known_args(argv)
    load_env_file(known.env_file)
    args = parser().parse_args(argv)
    try:
        from botocore.exceptions import BotoCoreError, ClientError

        aws_errors: tuple[type[Exception], ...] = (BotoCoreError, ClientError)
    except ImportError:  # snapshot needs only the stdlib
        aws_errors = ()
    try:
        return args.func(args)
    except BackupError as exc:
        log(f"ERROR: {exc}")
        return 1
    except aws_errors as exc:
        log(f"ERROR: AWS: {exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
