"""``python -m local``: S3 (moto), the photo worker and the clinic app, in one terminal.

Ctrl-C or SIGTERM stops everything (app, worker, final mirror sync, moto) and exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import sys
import time
import urllib.request
from pathlib import Path

from local import bucket as bucket_setup
from local import consistency
from local.env import APP_DIR, REPO, app_env, base_env, worker_env
from local.ports import PortInUse, require_free, wait_listening
from local.procs import Child, Registry, stop_stale
from local.s3_mirror import Mirror, MirrorThread
from local.state import State


class Shutdown(Exception):
    pass


class StartupFailed(Exception):
    pass


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m local", description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--app-port", type=int, default=8000)
    p.add_argument("--s3-port", type=int, default=5001)
    p.add_argument("--seed", type=int, default=0, metavar="N", help="demo animals (only into an empty database)")
    p.add_argument("--fresh", action="store_true", help="move the previous records and photos aside first")
    p.add_argument("--state-dir", type=Path, default=REPO / ".local")
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    return p.parse_args(argv)


def show(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def say(text: str = "") -> None:
    print(text, flush=True)


def _raise_shutdown(signum, _frame):
    raise Shutdown(signal.Signals(signum).name)


def check_consistency(state: State, fresh: bool) -> tuple[set[str], set[str]]:
    """Returns (originals to process again, mirrored keys not to restore)."""
    if fresh:
        moved = state.move_aside()
        if moved:
            say(f"--fresh: previous records and photos moved to {show(moved)}")
        return set(), set()
    mirror = Mirror(state.s3_dir)
    if not state.has_records():
        if mirror.keys():
            moved = state.move_aside()
            say(f"No database but stored photos: moved them to {show(moved)}; starting fresh.")
        return set(), set()
    kept = mirror.keys()
    lost, again, stale = consistency.repair(state.db_path, kept)
    if lost:
        say(f"{len(lost)} photo(s) whose original did not reach {show(state.s3_dir)} before the last stop "
            f"are marked lost (the app asks to upload them again); every record is kept.")
    if again:
        say(f"{len(again)} photo(s) with missing processed files will be processed again.")
    originals = set()
    if again:
        with sqlite3.connect(f"file:{state.db_path}?mode=ro", uri=True) as conn:
            rows = conn.execute(
                f"SELECT key FROM registry_photo WHERE photo_id IN ({','.join('?' * len(again))})", again
            ).fetchall()
        originals = {r[0] for r in rows}
    return originals, stale


def wait_http_ok(url: str, timeout: float, child: Child) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and child.alive():
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


def _finish_setup(setup) -> None:
    """Wait for the app's one-off setup (migrate, first admin, seed); its failure stops the start."""
    while setup.alive():
        time.sleep(0.1)
    if setup.stop() != 0:
        raise StartupFailed(f"preparing the app failed; see {show(setup.log_path)}:\n{setup.log_tail()}")


def start(args, state: State, children: dict, mirror_box: list, repaired=(set(), set()), registry=None) -> str:
    host = args.host
    endpoint = f"http://{host}:{args.s3_port}"
    app_url = f"http://{host}:{args.app_port}"
    origins = [app_url] + ([f"http://localhost:{args.app_port}"] if host == "127.0.0.1" else [])
    base = base_env(endpoint, bucket_setup.REGION)
    env = app_env(base, state, origins=origins, bucket=bucket_setup.BUCKET)
    password = state.admin_password()
    logs = state.logs_dir
    py = sys.executable

    def child(name, argv, **kw):
        return Child(name, argv, state_dir=state.root, registry=registry, **kw)

    # The app's one-off setup does not need S3: run it while moto starts.
    setup_argv = [py, "-m", "local.appsetup"] + (["--seed", str(args.seed)] if args.seed else [])
    children["setup"] = child("setup", setup_argv, env=env, cwd=APP_DIR, log_path=logs / "app-setup.log")
    children["s3"] = s3 = child("s3", [py, "-m", "moto.server", "-H", host, "-p", str(args.s3_port)],
                                env=base, cwd=REPO, log_path=logs / "s3.log")
    if not wait_listening(host, args.s3_port, 30, s3.alive):
        raise StartupFailed(f"the local S3 (moto) did not start; see {show(s3.log_path)}:\n{s3.log_tail()}")

    s3c, sqsc = bucket_setup.clients(endpoint)
    bucket_setup.create_bucket(s3c, bucket_setup.BUCKET, origins)
    mirror = Mirror(state.s3_dir)
    reprocess, stale = repaired
    kept = mirror.keys() - stale
    unprocessed = consistency.unprocessed_uploads(kept) | (reprocess & kept)
    # Finished objects go back before the notification exists (no reprocessing);
    # originals whose processing never finished go back after it, so they get their event.
    restored = mirror.restore(s3c, bucket_setup.BUCKET, kept - unprocessed)
    queue_url, queue_arn = bucket_setup.create_queue(sqsc)
    bucket_setup.enable_notifications(s3c, bucket_setup.BUCKET, queue_arn)
    children["worker"] = worker = child("worker", [py, "-m", "local.worker", "--queue-url", queue_url],
                                        env=worker_env(base), cwd=REPO, log_path=logs / "worker.log")
    restored += mirror.restore(s3c, bucket_setup.BUCKET, unprocessed)
    thread = MirrorThread(mirror, s3c, bucket_setup.BUCKET)
    thread.start()
    mirror_box.append(thread)

    _finish_setup(children.pop("setup"))
    gunicorn = [py, "-m", "gunicorn", "--chdir", str(APP_DIR), "--bind", f"{host}:{args.app_port}",
                "--workers", str(args.workers), "--graceful-timeout", "5", "--access-logfile", "-",
                "clinic.wsgi:application"]
    children["app"] = app = child("app", gunicorn, env=env, cwd=APP_DIR, log_path=logs / "app.log")
    if not wait_http_ok(f"{app_url}/healthz", 60, app):
        raise StartupFailed(f"the app did not start; see {show(app.log_path)}:\n{app.log_tail()}")
    if not worker.alive():
        raise StartupFailed(f"the worker stopped; see {show(worker.log_path)}:\n{worker.log_tail()}")

    say(f"s3      {endpoint}  (moto; bucket {bucket_setup.BUCKET}, {restored} objects restored, "
        f"persisted in {show(state.s3_dir)})")
    say(f"worker  lambda_src/handler.py on uploads/ events (queue {bucket_setup.QUEUE})")
    say(f"app     {app_url}  (gunicorn; user admin, password {password})")
    say(f"logs    {show(logs)}/   data {show(state.data_dir)}/")
    return f"{app_url}/"


def stop_all(children: dict, mirror_box: list) -> None:
    for name in ("app", "setup", "worker"):
        if name in children:
            children.pop(name).stop()
    synced = True
    for thread in mirror_box:
        synced = thread.stop() and synced  # needs moto up: before stopping it
    if "s3" in children:
        children.pop("s3").stop()
    if not synced:
        say("warning: the last sync of the photos failed; the next run will check consistency")


def _other_runner(state: State) -> int | None:
    """The pid of a live runner recorded in this state directory's run.json."""
    try:
        pid = int(json.loads((state.root / "run.json").read_text())["runner"])
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return pid if pid != os.getpid() and b"local" in cmdline else None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    state = State(args.state_dir.resolve())
    try:
        require_free(args.host, {"--app-port": args.app_port, "--s3-port": args.s3_port})
    except PortInUse as err:
        print(err, file=sys.stderr, flush=True)
        return 2
    children: dict[str, Child] = {}
    mirror_box: list[MirrorThread] = []
    state.prepare()
    other = _other_runner(state)
    if other:
        print(f"another `python -m local` (pid {other}) is using {show(state.root)}; stop it first",
              file=sys.stderr, flush=True)
        return 2
    stale = stop_stale(state.root)
    if stale:
        say(f"Stopped {stale} process(es) left running by an earlier run of {show(state.root)}.")
    registry = Registry(state.root)
    previous = {sig: signal.signal(sig, _raise_shutdown) for sig in (signal.SIGINT, signal.SIGTERM)}
    code = 0
    try:
        repaired = check_consistency(state, args.fresh)
        state.prepare()
        url = start(args, state, children, mirror_box, repaired, registry)
        say(f"Ready: {url}  (Ctrl-C stops everything)")
        while True:
            for name, child in children.items():
                if not child.alive():
                    raise StartupFailed(f"{name} exited unexpectedly (code {child.proc.returncode}); "
                                        f"see {show(child.log_path)}:\n{child.log_tail()}")
            time.sleep(0.5)
    except Shutdown:
        say("\nStopping…")
    except StartupFailed as err:
        print(f"error: {err}", file=sys.stderr, flush=True)
        code = 1
    finally:
        for sig in previous:
            signal.signal(sig, signal.SIG_IGN)
        stop_all(children, mirror_box)
        registry.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    say(f"Stopped. Records and photos are kept in {show(state.root)} (--fresh starts over).")
    return code


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
