"""`make smoke` (scripts/smoke.py) against the local stack: the very script an
operator runs after `cdk deploy`, so it cannot rot unnoticed."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys

import pytest

from local.bucket import BUCKET, clients
from tests.local import stack as stack_mod

REPO = stack_mod.REPO
STEPS = (
    "HTTPS and headers", "healthz", "sign in", "create tutor", "create animal", "upload photo to S3",
    "processed thumbnail", "delete photo", "delete animal", "delete tutor",
)  # fmt: skip


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    stack = stack_mod.start(tmp_path_factory.mktemp("smoke"))
    yield stack
    assert stack.stop() == 0


def run_smoke(stack, *args: str, password: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(PASSWORD=password or stack.password, PYTHONUNBUFFERED="1")
    return subprocess.run(
        [sys.executable, "-m", "scripts.smoke", "--url", stack.url, "--allow-http", "--processing-timeout", "60", *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def count(stack, table: str) -> int:
    con = sqlite3.connect(stack.state_dir / "data" / "db" / "clinic.sqlite3")
    try:
        return con.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]  # noqa: S608 - fixed table names
    finally:
        con.close()


def test_smoke_passes_every_step_and_leaves_nothing_behind(stack):
    before = {t: count(stack, t) for t in ("registry_tutor", "registry_animal", "registry_photo")}
    result = run_smoke(stack)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    for step in STEPS:  # one timed PASS line per step, in order
        assert any(re.match(rf"PASS  {re.escape(step)}\s+\d+\.\d\d s  ", line) for line in lines), (step, result.stdout)
    assert "smoke passed in" in lines[-1]
    # The records and every object of the photo are gone.
    assert {t: count(stack, t) for t in before} == before
    photo_id = re.search(r"photo ([0-9a-f]{32})", result.stdout).group(1)
    s3, _ = clients(stack.endpoint)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
    assert not [k for k in keys if photo_id in k], keys


def test_operator_clean_up_removes_every_version(stack):
    """On AWS the instance may not delete objects: smoke removes the test photo's
    versions with the operator's credentials (stack mode, or --bucket)."""
    from scripts import smoke

    s3, _ = clients(stack.endpoint)
    photo_id = "0" * 32
    # (not under uploads/: the local worker would process it and write more objects meanwhile)
    for key in (f"smoke-test/{photo_id}/a.jpg", f"processed/{photo_id}/thumb.jpg", f"processed/{photo_id}/manifest.json"):
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"1")
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"2")  # a second version
    s3.delete_object(Bucket=BUCKET, Key=f"processed/{photo_id}/thumb.jpg")  # and a delete marker
    keep = "smoke-test/other/keep.jpg"
    s3.put_object(Bucket=BUCKET, Key=keep, Body=b"k")
    removed = smoke.delete_all_versions(s3, BUCKET, [f"smoke-test/{photo_id}/a.jpg", f"processed/{photo_id}/"])
    assert removed == 7
    left = s3.list_object_versions(Bucket=BUCKET, Prefix=f"processed/{photo_id}/")
    assert not left.get("Versions") and not left.get("DeleteMarkers")
    assert not s3.list_object_versions(Bucket=BUCKET, Prefix=f"smoke-test/{photo_id}/").get("Versions")
    assert s3.get_object(Bucket=BUCKET, Key=keep)["Body"].read() == b"k"


def test_smoke_fails_with_its_reason_and_still_cleans_up(stack):
    result = run_smoke(stack, password="not-the-password")
    assert result.returncode == 1
    assert re.search(r"^FAIL  sign in .*sign-in failed", result.stdout, re.M), result.stdout
    assert "smoke FAILED" in result.stdout
    assert "create tutor" not in result.stdout  # nothing created, nothing to clean


def test_smoke_refuses_plain_http_unless_told(stack):
    env = {**os.environ, "PASSWORD": stack.password}
    result = subprocess.run([sys.executable, "-m", "scripts.smoke", "--url", stack.url], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 1 and "is not HTTPS" in result.stdout
