"""The installer cfn-init runs, run into a scratch root: install, serve, upgrade, keep the data.

What is real: the release directory built by scripts/build_app_artifact.py for
this machine (--local), `pip install --no-index` from its wheelhouse into a new
venv, Secrets Manager (moto's server: the installer's production code path with
AWS_ENDPOINT_URL), migrate/collectstatic/create_first_admin, gunicorn started
from the written gunicorn.conf.py and env file, and nginx with the written site
config when nginx is installed. What is not: systemd (--no-systemd), the clinic
user (--skip-user) and dnf (--no-packages).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))
import build_app_artifact  # noqa: E402

sys.path.insert(0, str(REPO))
from stacks.clinic_server import ORIGIN_PEERS  # noqa: E402  - what the stack passes the installer

INSTALLER = REPO / "ec2_userdata" / "install_clinic.sh"
HEALTHCHECK = REPO / "ec2_userdata" / "healthcheck.sh"
HOST = "clinic.example.org"
REGION = "sa-east-1"
SECRET_KEY = "test-secret-key-" + "x1y2z3" * 8
ADMIN_PASSWORD = "Adm1n-Senha-Forte-2024"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url: str, host: str = HOST, timeout: float = 5) -> tuple[int, bytes]:
    req = urllib.request.Request(url, headers={"Host": host})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wait_for_200(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            status, _ = http_get(url)
            if status == 200:
                return
            last = status
        except OSError as exc:
            last = exc
        time.sleep(0.3)
    pytest.fail(f"{url} did not answer 200 within {timeout} s (last: {last})")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def read_env_file(path: Path) -> dict[str, str]:
    env = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            env[key] = value.strip("'")
    return env


# ---------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    if not (build_app_artifact.APP_DIR / "pyproject.toml").exists():
        pytest.skip("clinic_app/pyproject.toml is missing: the clinic-app wheel cannot be built yet")
    # Wheels are cached under .layer-build/, so only the first run downloads.
    return build_app_artifact.build(tmp_path_factory.mktemp("release"), platform=build_app_artifact.LOCAL)


@pytest.fixture(scope="module")
def moto_endpoint():
    moto = shutil.which("moto_server", path=str(Path(sys.executable).parent)) or shutil.which("moto_server")
    if moto is None:
        pytest.skip("moto_server not installed (moto[server])")
    port = free_port()
    proc = subprocess.Popen(
        [moto, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("moto_server did not start")
                time.sleep(0.2)
        yield endpoint
    finally:
        stop(proc)


@pytest.fixture(scope="module")
def aws_env(moto_endpoint) -> dict[str, str]:
    """Environment for the installer: fake credentials, moto as every AWS endpoint."""
    import boto3

    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DJANGO_", "CLINIC_"))}
    env.update(
        AWS_ENDPOINT_URL=moto_endpoint,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION=REGION,
        AWS_EC2_METADATA_DISABLED="true",
    )
    client = boto3.client(
        "secretsmanager", endpoint_url=moto_endpoint, region_name=REGION,
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )  # fmt: skip
    env["TEST_SECRET_KEY_ARN"] = client.create_secret(Name="clinic/django-secret-key", SecretString=SECRET_KEY)["ARN"]
    env["TEST_ADMIN_ARN"] = client.create_secret(Name="clinic/admin-password", SecretString=ADMIN_PASSWORD)["ARN"]
    return env


class Install:
    def __init__(self, root: Path, release: Path, env: dict[str, str], http_port: int) -> None:
        self.root = root
        self.release = release
        self.env = env
        self.http_port = http_port
        self.data = root / "data"
        self.env_file = root / "etc/clinic/clinic.env"
        self.venv = root / "opt/clinic/venv"
        self.manage_bin = root / "opt/clinic/bin/clinic-manage"
        self.db = self.data / "db/clinic.sqlite3"
        self.socket = root / "run/clinic/gunicorn.sock"

    def run(self, *extra: str, secret_key_id: str | None = None) -> subprocess.CompletedProcess:
        cmd = [
            "bash", str(INSTALLER),
            "--root", str(self.root), "--release", str(self.release), "--data-dir", str(self.data),
            "--python", sys.executable, "--no-systemd", "--skip-user", "--no-packages",
            "--bucket", "clinic-photos-test", "--region", REGION, "--allowed-hosts", HOST,
            "--secret-key-secret-id", secret_key_id or self.env["TEST_SECRET_KEY_ARN"],
            "--admin-secret-id", self.env["TEST_ADMIN_ARN"],
            "--http-port", str(self.http_port),
            # Exactly what the stack passes: the test's loopback peer stands in for
            # CloudFront, the only peer the security group lets reach nginx.
            "--trusted-proxy-cidr", ",".join(ORIGIN_PEERS),
            *extra,
        ]  # fmt: skip
        return subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=600, check=False)

    def manage(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(self.manage_bin), *args], env=self.env, capture_output=True, text=True, timeout=120, check=False
        )

    def animal_ids(self) -> list[int]:
        con = sqlite3.connect(self.db)
        try:
            return [r[0] for r in con.execute("SELECT id FROM registry_animal ORDER BY id")]
        finally:
            con.close()


@pytest.fixture(scope="module")
def installed(tmp_path_factory, release, aws_env) -> tuple[Install, subprocess.CompletedProcess]:
    # A short base path: the gunicorn socket path must stay under 108 bytes.
    inst = Install(tmp_path_factory.mktemp("root"), release, aws_env, free_port())
    result = inst.run()
    assert result.returncode == 0, f"installer failed:\n{result.stdout}\n{result.stderr}"
    return inst, result


@pytest.fixture(scope="module")
def gunicorn(installed):
    """gunicorn as the unit starts it: the written env file and gunicorn.conf.py (+ a TCP bind)."""
    inst, _ = installed
    port = free_port()
    env = dict(inst.env)
    env.update(read_env_file(inst.env_file))
    # Both the production socket (for nginx) and TCP (for the test); CLI args beat the config file.
    env["GUNICORN_CMD_ARGS"] = f"--bind=unix:{inst.socket} --bind=127.0.0.1:{port} --workers=2"
    log = inst.root / "gunicorn-stdout.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(inst.venv / "bin/gunicorn"), "--config", str(inst.root / "etc/clinic/gunicorn.conf.py"),
             "clinic.wsgi:application"],
            env=env, cwd=str(inst.data), stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_200(url + "/healthz")
        yield url
    finally:
        stop(proc)


# ---------------------------------------------------------------- tests
def test_first_install_layout(installed):
    inst, result = installed
    env_file = inst.env_file
    assert oct(env_file.stat().st_mode & 0o777) == "0o640"
    env = read_env_file(env_file)
    assert env["DJANGO_SECRET_KEY"] == SECRET_KEY  # from Secrets Manager, not from the command line
    assert env["DJANGO_ALLOWED_HOSTS"] == HOST
    assert env["DJANGO_CSRF_TRUSTED_ORIGINS"] == f"https://{HOST}"
    assert env["CLINIC_DATA_DIR"] == str(inst.data)
    assert env["CLINIC_PHOTO_BUCKET"] == env["CLINIC_BACKUP_BUCKET"] == "clinic-photos-test"
    assert SECRET_KEY not in result.stdout + result.stderr
    assert ADMIN_PASSWORD not in result.stdout + result.stderr
    for d in ("db", "logs"):
        assert oct((inst.data / d).stat().st_mode & 0o777) == "0o750"
    assert (inst.venv / ".release").read_text().strip() == (inst.release / "RELEASE").read_text().split()[0]
    assert list((inst.root / "opt/clinic/static").rglob("*.css")), "collectstatic wrote nothing"
    units = inst.root / "etc/systemd/system"
    gunicorn_unit = (units / "clinic-gunicorn.service").read_text()
    assert f"EnvironmentFile={env_file}" in gunicorn_unit and "Restart=on-failure" in gunicorn_unit
    assert "@" not in gunicorn_unit.replace("multi-user", "")  # every placeholder substituted
    assert "OnCalendar=*-*-* 05:30:00 UTC" in (units / "clinic-backup.timer").read_text()
    assert f"server unix:{inst.socket}" in (inst.root / "etc/nginx/conf.d/clinic.conf").read_text()
    assert str(inst.data / "logs") in (inst.root / "etc/logrotate.d/clinic").read_text()
    # The first administrator exists with the password from Secrets Manager.
    check = inst.manage(
        "shell", "-c",
        "import sys; from django.contrib.auth import authenticate; "
        f"sys.exit(0 if authenticate(username='admin', password='{ADMIN_PASSWORD}') else 3)",
    )  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr


def test_serves_healthz_and_upgrade_keeps_data(installed, gunicorn):
    inst, _ = installed
    status, body = http_get(gunicorn + "/healthz")
    assert status == 200, body

    seeded = inst.manage("seed_demo", "--animals", "3")
    assert seeded.returncode == 0, seeded.stdout + seeded.stderr
    animals = inst.animal_ids()
    assert animals, "seed_demo created no animal"

    watched = [inst.env_file, inst.root / "etc/systemd/system/clinic-gunicorn.service",
               inst.root / "etc/nginx/conf.d/clinic.conf", inst.root / "etc/clinic/gunicorn.conf.py"]  # fmt: skip
    before = {p: p.stat().st_mtime_ns for p in watched}

    upgrade = inst.run()  # the same bootstrap again, on a live system
    assert upgrade.returncode == 0, f"second run failed:\n{upgrade.stdout}\n{upgrade.stderr}"
    assert SECRET_KEY not in upgrade.stdout + upgrade.stderr

    assert inst.animal_ids() == animals, "animals lost by the second run"
    snapshots = sorted((inst.data / "db/pre-migrate").glob("clinic-*.sqlite3"))
    assert snapshots, "no pre-migrate backup"
    con = sqlite3.connect(snapshots[-1])
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert con.execute("SELECT count(*) FROM registry_animal").fetchone()[0] == len(animals)
    finally:
        con.close()
    # Nothing rewritten when nothing changed.
    assert {p: p.stat().st_mtime_ns for p in watched} == before
    status, _ = http_get(gunicorn + "/healthz")
    assert status == 200


def test_failed_run_reports_reason_and_keeps_the_install(installed, tmp_path):
    inst, _ = installed
    env_before = inst.env_file.read_bytes()
    reason = tmp_path / "reason"
    result = inst.run(
        "--reason-file", str(reason), secret_key_id="arn:aws:secretsmanager:sa-east-1:123456789012:secret:nope"
    )
    assert result.returncode == 1
    assert "ERROR install_clinic: secrets:" in result.stderr
    line = reason.read_text()
    assert line.count("\n") == 1 and "Secrets Manager" in line
    assert inst.env_file.read_bytes() == env_before
    log = (inst.root / "var/log/clinic-bootstrap.log").read_text()
    assert "ERROR install_clinic: secrets:" in log


def test_through_nginx(installed, gunicorn, tmp_path):
    """nginx -t on the generated site, then /healthz and a static file through nginx."""
    nginx = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)
    if nginx is None:
        pytest.skip("nginx is not installed on this machine (Debian: apt-get install -y nginx)")
    inst, _ = installed
    site = inst.root / "etc/nginx/conf.d/clinic.conf"
    mime = next((p for p in ("/etc/nginx/mime.types",) if Path(p).exists()), None)
    temp = tmp_path / "nginx-temp"
    temp.mkdir()
    # The main config nginx.conf on the instance provides; the site is included as is.
    main_conf = tmp_path / "nginx.conf"
    main_conf.write_text(
        ("user root;\n" if os.geteuid() == 0 else "")  # scratch paths are 0700 to anyone else
        + f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\ndaemon off;\nevents {{}}\n"
        "http {\n"
        + (f"  include {mime};\n" if mime else "")
        + "".join(f"  {d}_temp_path {temp}/{d};\n" for d in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        + f"  include {site};\n}}\n"
    )
    test = subprocess.run([nginx, "-t", "-c", str(main_conf)], capture_output=True, text=True, check=False)
    assert test.returncode == 0, test.stderr
    proc = subprocess.Popen([nginx, "-c", str(main_conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{inst.http_port}"
        hc = subprocess.run(
            ["bash", str(HEALTHCHECK), "--url", base + "/healthz", "--host", HOST, "--timeout", "20", "--interval", "1"],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert hc.returncode == 0, hc.stdout + hc.stderr
        status, _ = http_get(base + "/static/admin/css/base.css")
        assert status == 200
        # Django sees the viewer's scheme from CloudFront-Forwarded-Proto: no HTTPS redirect.
        req = urllib.request.Request(base + "/", headers={"Host": HOST, "CloudFront-Forwarded-Proto": "http"})
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.build_opener(NoRedirect).open(req, timeout=5)
        assert err.value.code == 301 and err.value.headers["Location"].startswith(f"https://{HOST}/")
        # ... and a viewer request that was HTTPS is not redirected again (no redirect loop):
        # the sign-in redirect of an anonymous visitor, on the same scheme.
        req = urllib.request.Request(base + "/", headers={"Host": HOST, "CloudFront-Forwarded-Proto": "https"})
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.build_opener(NoRedirect).open(req, timeout=5)
        assert err.value.code == 302, err.value.headers
        assert not err.value.headers["Location"].startswith("http://")
        assert "Strict-Transport-Security" in err.value.headers
        # The viewer's address from X-Forwarded-For (as CloudFront appends it) becomes the client.
        req = urllib.request.Request(
            base + "/?q=secret-search-term",
            headers={
                "Host": HOST,
                "X-Forwarded-For": "198.51.100.7, 203.0.113.9",
                "CloudFront-Forwarded-Proto": "https",
            },
        )
        with pytest.raises(urllib.error.HTTPError) as err:  # the sign-in redirect
            urllib.request.build_opener(NoRedirect).open(req, timeout=5)
        assert err.value.code == 302
        # nginx logs a request after answering it: give the line a moment to appear.
        deadline = time.monotonic() + 5
        while True:
            access_log = (inst.data / "logs/nginx-access.log").read_text()
            lines = access_log.splitlines()
            if any(line.startswith("203.0.113.9 ") and '"GET / ' in line for line in lines):
                break
            assert time.monotonic() < deadline, access_log
            time.sleep(0.1)
        assert "/healthz" not in access_log  # health checks are not logged
        assert "secret-search-term" not in access_log  # no query strings in the log

        # Forged X-Forwarded-For: whatever the client sends, CloudFront appends the
        # address it really saw; only that last hop may become the client, through
        # as $remote_addr, which nginx passes the app as X-Real-IP (the sign-in throttle key).
        for forged, viewer in (
            ("10.20.0.5", "198.51.100.21"),  # a VPC address, as if from inside
            ("203.0.113.66, 10.0.0.1", "198.51.100.22"),  # a chain of "proxies"
            ("127.0.0.1", "198.51.100.23"),  # loopback, as if from the instance itself
            ("garbage, , 2001:db8::1", "2001:db8:ffff::24"),  # junk and IPv6
        ):
            tag = viewer.replace(":", "-").replace(".", "-")
            req = urllib.request.Request(
                f"{base}/forged-{tag}",
                headers={"Host": HOST, "X-Forwarded-For": f"{forged}, {viewer}", "CloudFront-Forwarded-Proto": "https"},
            )
            with pytest.raises(urllib.error.HTTPError):
                urllib.request.build_opener(NoRedirect).open(req, timeout=5)
            deadline = time.monotonic() + 5
            while True:
                lines = (inst.data / "logs/nginx-access.log").read_text().splitlines()
                hit = [line for line in lines if f"/forged-{tag} " in line]
                if hit:
                    break
                assert time.monotonic() < deadline, f"no access-log line for /forged-{tag}"
                time.sleep(0.1)
            assert hit[0].split(" ", 1)[0] == viewer, (forged, hit[0])
        # No X-Forwarded-For at all (the instance's own health check): the peer itself.
        req = urllib.request.Request(f"{base}/no-xff", headers={"Host": HOST, "CloudFront-Forwarded-Proto": "https"})
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.build_opener(NoRedirect).open(req, timeout=5)
        deadline = time.monotonic() + 5
        while not any("/no-xff " in line for line in (inst.data / "logs/nginx-access.log").read_text().splitlines()):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        line = next(x for x in (inst.data / "logs/nginx-access.log").read_text().splitlines() if "/no-xff " in x)
        assert line.startswith("127.0.0.1 ")
    finally:
        stop(proc)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003
        return None


def test_healthcheck_times_out_with_reason():
    port = free_port()  # nothing listens there
    result = subprocess.run(
        ["bash", str(HEALTHCHECK), "--url", f"http://127.0.0.1:{port}/healthz", "--timeout", "1", "--interval", "1"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert "did not answer 200 within 1 s" in result.stderr


def test_systemd_units_verify(installed):
    """systemd-analyze verify on the written units (syntax, calendar, executables present)."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze not installed (Debian: systemd)")
    inst, _ = installed
    units = inst.root / "etc/systemd/system"
    result = subprocess.run(
        [analyze, "verify", *(str(units / u) for u in ("clinic-gunicorn.service", "clinic-backup.service", "clinic-backup.timer"))],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
