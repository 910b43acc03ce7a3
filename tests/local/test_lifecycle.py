"""kill -9 of the runner or of the local S3: children die with the runner, stale
children of the same state directory are stopped, a lost photo costs only itself."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import requests

from local.procs import TAG
from tests.local import stack as stack_mod
from tests.local.helpers import browser_post, jpeg_bytes


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _sleeper(state_dir: Path) -> subprocess.Popen:
    env = dict(os.environ, **{TAG: str(state_dir)})
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], env=env,
                            start_new_session=True)


def _sign_in(stack) -> requests.Session:
    s = requests.Session()
    page = s.get(f"{stack.url}entrar/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    resp = s.post(f"{stack.url}entrar/", data={"username": "admin", "password": stack.password,
                                               "csrfmiddlewaretoken": token},
                  headers={"Referer": f"{stack.url}entrar/"}, timeout=10)
    assert resp.url.endswith("/animais/"), "sign-in failed"
    s.headers["X-CSRFToken"] = s.cookies["csrftoken"]
    s.animal_ids = [int(x) for x in re.findall(r'data-animal-id="(\d+)"', resp.text)]
    return s


def test_kill_9_of_the_runner_leaves_no_child_running(tmp_path):
    stack = stack_mod.start(tmp_path / "state")
    stack.track()
    names = " ".join(_cmdline(p) for p in stack.seen_pids)
    assert "moto.server" in names and "gunicorn" in names and "local.worker" in names
    # Stack.stop waits for the runner and asserts every process it ever saw is gone
    assert stack.stop(signal.SIGKILL) == -signal.SIGKILL


def test_a_start_stops_stale_children_of_the_same_state_directory_only(tmp_path):
    state = (tmp_path / "state").resolve()
    state.mkdir()
    ours, theirs = _sleeper(state), _sleeper(tmp_path / "other-state")
    try:
        stack = stack_mod.start(state)
        try:
            assert "Stopped 1 process(es) left running by an earlier run" in stack.output()
            assert ours.wait(timeout=10) is not None
            assert theirs.poll() is None  # another state directory's process is not ours
        finally:
            assert stack.stop() == 0
    finally:
        for p in (ours, theirs):
            if p.poll() is None:
                p.kill()
                p.wait()


def test_a_second_runner_on_the_same_state_directory_is_refused(tmp_path):
    stack = stack_mod.start(tmp_path / "state")
    try:
        other = subprocess.run([sys.executable, "-m", "local", "--state-dir", str(tmp_path / "state"),
                                "--app-port", "0", "--s3-port", "0"], cwd=stack_mod.REPO, capture_output=True,
                               text=True, timeout=60)
        assert other.returncode == 2 and "is using" in other.stderr
    finally:
        assert stack.stop() == 0


def test_kill_9_of_the_local_s3_right_after_an_upload_costs_at_most_that_photo(tmp_path):
    state = tmp_path / "state"
    stack = stack_mod.start(state, "--seed", "4")
    db = state / "data" / "db" / "clinic.sqlite3"
    session = _sign_in(stack)
    animal = session.animal_ids[0]
    body = jpeg_bytes()
    presign = session.post(f"{stack.url}api/animais/{animal}/fotos/presign",
                           data={"filename": "f.jpg", "content_type": "image/jpeg", "size": len(body)},
                           timeout=10).json()
    fields = dict(presign["fields"])
    assert requests.post(presign["url"], data=fields, files={"file": ("f.jpg", body, "image/jpeg")},
                         timeout=30).status_code == 204
    assert session.post(f"{stack.url}api/animais/{animal}/fotos/confirm", data={"token": presign["token"]},
                        timeout=30).status_code == 201
    stack.track()
    moto = [p for p in stack.seen_pids if "moto.server" in _cmdline(p)]
    assert moto
    for pid in moto:
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while stack.proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert stack.stop() == 1  # the runner noticed and stopped everything else
    with sqlite3.connect(db) as conn:
        animals = conn.execute("SELECT count(*) FROM registry_animal").fetchone()[0]
        tutors = conn.execute("SELECT count(*) FROM registry_tutor").fetchone()[0]

    stack = stack_mod.start(state)
    try:
        assert "Starting fresh" not in stack.output()
        assert not list(state.glob("previous-*"))
        with sqlite3.connect(db) as conn:
            assert conn.execute("SELECT count(*) FROM registry_animal").fetchone()[0] == animals
            assert conn.execute("SELECT count(*) FROM registry_tutor").fetchone()[0] == tutors
            status, code = conn.execute("SELECT status, error_code FROM registry_photo WHERE photo_id=?",
                                        (presign["photo_id"],)).fetchone()
        # kept (maybe processed again) or marked lost: never more than this one photo
        assert (status, code) in {("pending", ""), ("ok", ""), ("failed", "lost")}
        session = _sign_in(stack)
        resp = session.get(f"{stack.url}api/fotos/{presign['photo_id']}", timeout=30)
        assert resp.status_code in (200, 503)
        if code == "lost":
            assert "envie-a de novo" in resp.json()["error"]
    finally:
        assert stack.stop() == 0


def test_a_forged_local_upload_never_reaches_another_animals_page(tmp_path):
    """The local S3 enforces no POST policy: anyone can write any key. The app's
    checks (signed token + HEAD on confirm, manifest source/prefix checks,
    version-pinned links) keep a forged object off every page."""
    stack = stack_mod.start(tmp_path / "state", "--seed", "3")
    try:
        session = _sign_in(stack)
        victim = session.animal_ids[0]
        body = jpeg_bytes(800, 600)
        presign = session.post(f"{stack.url}api/animais/{victim}/fotos/presign",
                               data={"filename": "a.jpg", "content_type": "image/jpeg", "size": len(body)},
                               timeout=10).json()
        assert requests.post(presign["url"], data=dict(presign["fields"]),
                             files={"file": ("a.jpg", body, "image/jpeg")}, timeout=30).status_code == 204
        photo_id = presign["photo_id"]
        assert session.post(f"{stack.url}api/animais/{victim}/fotos/confirm", data={"token": presign["token"]},
                            timeout=30).status_code == 201
        deadline = time.monotonic() + 30
        status = {}
        while time.monotonic() < deadline:
            status = session.get(f"{stack.url}api/fotos/{photo_id}", timeout=10).json()
            if status.get("status") == "ok":
                break
            time.sleep(0.5)
        assert status.get("status") == "ok", status
        # a forged upload under the photo's own prefix: processed again, its manifest ignored
        forged = jpeg_bytes(640, 480)
        assert browser_post(stack.endpoint, f"uploads/{photo_id}/forjada.jpg", forged,
                            "image/jpeg").status_code == 204
        time.sleep(3)  # let the worker process it
        # overwrite the rendition after processing
        thumb_url = status["thumb_url"]
        real = requests.get(thumb_url, timeout=10).content
        key = re.search(r"/(processed/[0-9a-f]{32}/[^?]+)\?", thumb_url).group(1)
        assert browser_post(stack.endpoint, key, b"\xff\xd8 not the photo", "image/jpeg").status_code == 204
        page = session.get(f"{stack.url}animais/{victim}/", timeout=10).text
        urls = [u.replace("&amp;", "&") for u in re.findall(r'src="(http[^"]+)"', page)]
        assert urls, "no photo on the page"
        for url in urls:
            content = requests.get(url, timeout=10).content
            assert content != b"\xff\xd8 not the photo"
        assert requests.get(thumb_url, timeout=10).content == real
        # and a forged upload with a photo id of its own never becomes anyone's photo
        assert browser_post(stack.endpoint, f"uploads/{'b' * 32}/x.jpg", forged, "image/jpeg").status_code == 204
        for other in session.animal_ids:
            assert "b" * 32 not in session.get(f"{stack.url}animais/{other}/", timeout=10).text
    finally:
        assert stack.stop() == 0
