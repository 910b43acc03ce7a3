"""``python -m local.ha``: mode ha on one machine, no AWS account.

The same pieces as ``python -m local`` (moto S3 + SQS, the photo worker calling
lambda_src/handler.py, the app from clinic_app/ with its EC2 variable names),
shaped like mode ha: a throwaway PostgreSQL cluster (Debian's server) instead
of SQLite, TWO app processes (gunicorn) on it, and nginx (Debian) in front
round-robin, as the internal ALB spreads over the Auto Scaling group. nginx
retries a request on the other app when the first refuses the connection or
dies before answering (ALB: a target that fails its health check leaves the
rotation). Everything is ephemeral: the state lives in a temporary directory
and goes when the run stops (mode ha's persistence is RDS'). Ctrl-C / SIGTERM
stops everything and exits 0.

The lines it prints are read by tests/local/test_ha_run.py and bench/ha_bench.py:
``app a http://… pid N`` per app, then ``Ready: <url>``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from clinic_app.clinic import envvars as E
from local import bucket as bucket_setup
from local.env import APP_DIR, REPO, app_env, base_env, worker_env
from local.pg import PostgresUnavailable, throwaway_postgres
from local.ports import free_port, wait_listening
from local.procs import Child
from local.run import Shutdown, StartupFailed, _raise_shutdown, say, wait_http_ok
from local.state import State

APPS = ("a", "b")


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m local.ha", description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="nginx (the load balancer); 0 = a free port")
    p.add_argument("--s3-port", type=int, default=0, help="0 = a free port")
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers per app process")
    p.add_argument("--seed", type=int, default=0, metavar="N", help="demo animals")
    return p.parse_args(argv)


def nginx_conf(root: Path, host: str, port: int, upstreams: list[int]) -> str:
    servers = "\n".join(f"        server {host}:{p} max_fails=1 fail_timeout=5s;" for p in upstreams)
    user = "user root;\n" if os.geteuid() == 0 else ""
    temp = "\n".join(
        f"    {kind}_temp_path {root}/tmp/{kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""{user}worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/logs/nginx-error.log warn;
events {{ worker_connections 512; }}
http {{
    access_log {root}/logs/nginx-access.log;
{temp}
    upstream clinic {{
{servers}
        keepalive 16;
    }}
    server {{
        listen {host}:{port};
        client_max_body_size 1m;
        location / {{
            proxy_pass http://clinic;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            # The other app takes over when one refuses or drops the connection.
            proxy_next_upstream error timeout http_502;
            proxy_next_upstream_tries 2;
            proxy_connect_timeout 2s;
            proxy_read_timeout 60s;
        }}
    }}
}}
"""


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if not found:
        raise StartupFailed("nginx not found: apt-get install nginx (scripts/system_deps.py)")
    return found


def _start_apps(args, host: str, env: dict, children: dict, logs: Path) -> list[int]:
    """One gunicorn per name in APPS on a free port each; returns the ports once all answer /healthz."""
    py = sys.executable
    app_ports = []
    for name in APPS:
        app_port = free_port()
        app_ports.append(app_port)
        gunicorn = [py, "-m", "gunicorn", "--chdir", str(APP_DIR), "--bind", f"{host}:{app_port}",
                    "--workers", str(args.workers), "--graceful-timeout", "5", "--access-logfile", "-",
                    "clinic.wsgi:application"]
        children[f"app-{name}"] = Child(f"app-{name}", gunicorn, env=env, cwd=APP_DIR, log_path=logs / f"app-{name}.log")
    for name, app_port in zip(APPS, app_ports, strict=True):
        app = children[f"app-{name}"]
        if not wait_http_ok(f"http://{host}:{app_port}/healthz", 60, app):
            raise StartupFailed(f"app {name} did not start:\n{app.log_tail()}")
    return app_ports


def start(args, root: Path, children: dict, stack: ExitStack) -> str:
    host = args.host
    port = args.port or free_port()
    s3_port = args.s3_port or free_port()
    endpoint = f"http://{host}:{s3_port}"
    url = f"http://{host}:{port}"
    state = State(root / "state")
    state.prepare()
    logs = root / "logs"
    for sub in ("logs", "tmp"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    try:
        database_url = stack.enter_context(throwaway_postgres(max_connections=200))
    except PostgresUnavailable as err:
        raise StartupFailed(str(err)) from err
    password = state.admin_password()  # written now: the setup reads the file
    base = base_env(endpoint, bucket_setup.REGION)
    env = app_env(base, state, origins=[url], bucket=bucket_setup.BUCKET)
    env[E.DATABASE_URL] = database_url
    py = sys.executable

    children["s3"] = s3 = Child("s3", [py, "-m", "moto.server", "-H", host, "-p", str(s3_port)],
                                env=base, cwd=REPO, log_path=logs / "s3.log")
    setup_argv = [py, "-m", "local.appsetup"] + (["--seed", str(args.seed)] if args.seed else [])
    children["setup"] = Child("setup", setup_argv, env=env, cwd=APP_DIR, log_path=logs / "app-setup.log")
    if not wait_listening(host, s3_port, 30, s3.alive):
        raise StartupFailed(f"the local S3 (moto) did not start:\n{s3.log_tail()}")
    s3c, sqsc = bucket_setup.clients(endpoint)
    bucket_setup.create_bucket(s3c, bucket_setup.BUCKET, [url])
    queue_url, queue_arn = bucket_setup.create_queue(sqsc)
    bucket_setup.enable_notifications(s3c, bucket_setup.BUCKET, queue_arn)
    children["worker"] = Child("worker", [py, "-m", "local.worker", "--queue-url", queue_url],
                               env=worker_env(base), cwd=REPO, log_path=logs / "worker.log")
    setup = children.pop("setup")
    while setup.alive():
        time.sleep(0.1)
    if setup.stop() != 0:
        raise StartupFailed(f"preparing the app failed:\n{setup.log_tail()}")

    app_ports = _start_apps(args, host, env, children, logs)
    conf = root / "nginx.conf"
    conf.write_text(nginx_conf(root, host, port, app_ports))
    children["nginx"] = nginx = Child("nginx", [nginx_binary(), "-p", str(root), "-e", str(logs / "nginx-error.log"),
                                                "-c", str(conf), "-g", "daemon off;"],
                                      env=base, cwd=root, log_path=logs / "nginx.log")
    if not wait_http_ok(f"{url}/healthz", 30, nginx):
        raise StartupFailed(f"nginx did not start:\n{nginx.log_tail()}")

    say(f"db      {database_url.rsplit('@', 1)[1]}  (PostgreSQL, throwaway)")
    say(f"s3      {endpoint}  (moto; bucket {bucket_setup.BUCKET})")
    for name, app_port in zip(APPS, app_ports, strict=True):
        say(f"app {name} http://{host}:{app_port} pid {children[f'app-{name}'].pid}")
    say(f"lb      {url}  (nginx round-robin; user admin, password {password})")
    say(f"logs    {logs}/")
    return url


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="clinic-ha-"))
    children: dict[str, Child] = {}
    previous = {sig: signal.signal(sig, _raise_shutdown) for sig in (signal.SIGINT, signal.SIGTERM)}
    code = 0
    with ExitStack() as stack:
        try:
            url = start(args, root, children, stack)
            say(f"Ready: {url}/  (Ctrl-C stops everything)")
            while True:
                for name in ("s3", "worker", "nginx"):
                    if not children[name].alive():
                        raise StartupFailed(f"{name} exited unexpectedly:\n{children[name].log_tail()}")
                # An app process may die (that is the point of two): the run goes on.
                time.sleep(0.5)
        except Shutdown:
            say("\nStopping…")
        except StartupFailed as err:
            print(f"error: {err}", file=sys.stderr, flush=True)
            code = 1
        finally:
            for sig in previous:
                signal.signal(sig, signal.SIG_IGN)
            for name in ("nginx", *(f"app-{n}" for n in APPS), "setup", "worker", "s3"):
                if name in children:
                    children.pop(name).stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    shutil.rmtree(root, ignore_errors=True)
    say("Stopped (mode ha's local run keeps nothing).")
    return code


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
