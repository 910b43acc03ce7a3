"""The stack <-> instance contract: the installer refuses to guess, the stack passes every
value, and the app's environment variable names agree with clinic/envvars.py."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
from clinic_app.clinic import envvars  # noqa: E402
from stacks.installer import APP_PORT, PYTHON, REQUIRED_OPTIONS  # noqa: E402

INSTALLER = REPO / "ec2_userdata" / "install_clinic.sh"
SNAPSHOTS = sorted((REPO / "tests" / "snapshots").glob("*.template.json"))

# Every required option with a value that passes validation, as the stack gives them.
VALUES = {
    "--release": "/opt/clinic/releases/x", "--data-dir": "/data", "--python": PYTHON,
    "--http-port": str(APP_PORT), "--bucket": "b", "--backup-prefix": "backups/", "--region": "sa-east-1",
    "--allowed-hosts": ".cloudfront.net",
}


def installer_required_options() -> set[str]:
    return set(re.findall(r'usage_error "(--[a-z-]+) is required"', INSTALLER.read_text()))


def test_the_stack_knows_every_option_the_installer_requires():
    assert installer_required_options() == set(REQUIRED_OPTIONS) == set(VALUES)


@pytest.mark.parametrize("missing", REQUIRED_OPTIONS)
def test_the_installer_refuses_to_run_without_each_value(tmp_path, missing):
    argv = [x for option, value in VALUES.items() if option != missing for x in (option, value)]
    result = subprocess.run(
        ["bash", str(INSTALLER), "--root", str(tmp_path), *argv, "--secret-key-file", "/nonexistent",
         "--no-systemd", "--skip-user", "--no-packages"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 64, result.stderr
    assert f"{missing} is required" in result.stderr
    assert not list(tmp_path.iterdir())  # refused before writing anything


def test_the_volume_script_refuses_to_run_without_its_mount_point(tmp_path):
    """The same directory reaches prepare_data_volume.sh (--mount-point) and the installer
    (--data-dir) from one constant (clinic_server.DATA_MOUNT): no default to agree by chance."""
    script = REPO / "ec2_userdata" / "prepare_data_volume.sh"
    result = subprocess.run(["bash", str(script), "--device", "/dev/null", "--fstab", str(tmp_path / "fstab")],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 64 and "--mount-point is required" in result.stderr
    from stacks import bootstrap
    from stacks.clinic_server import DATA_MOUNT

    assert f"--mount-point {DATA_MOUNT}" in bootstrap.data_volume_unit("vol-1", DATA_MOUNT)


def install_commands(template: dict) -> list[str]:
    """The cfn-init install commands of a synthesized template, intrinsics as <ref>."""
    found = []

    def text(node) -> str:
        if isinstance(node, str):
            return node
        if isinstance(node, dict) and "Fn::Join" in node:
            sep, parts = node["Fn::Join"]
            return sep.join(text(p) for p in parts)
        return "<ref>"

    def walk(node) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "10-install-clinic":
                    found.append(text(value["command"]))
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(template)
    return found


@pytest.mark.parametrize("snapshot", SNAPSHOTS, ids=lambda p: p.name)
def test_the_synthesized_command_passes_every_required_value(snapshot):
    """Checked on the snapshots, which tests/infra/test_template_snapshot.py keeps equal to a synth."""
    from lambda_src.photo_contract import BACKUPS_PREFIX

    commands = install_commands(json.loads(snapshot.read_text()))
    assert commands, "no install command in the template"
    for command in commands:
        for option in REQUIRED_OPTIONS:
            assert re.search(rf"(^| ){re.escape(option)} \S", command), (option, command)
        assert f" --python {PYTHON} " in command and f" --http-port {APP_PORT} " in command
        assert f" --backup-prefix {BACKUPS_PREFIX} " in command


# --- environment variable names ------------------------------------------------------------

PYTHON_OWN = {"PYTHONDONTWRITEBYTECODE"}


def installer_env_names() -> set[str]:
    return set(re.findall(r"^\s*(?:\[\[.*\]\] \|\| )?env_line ([A-Z_]+) ", INSTALLER.read_text(), re.M))


def test_the_installer_writes_exactly_the_declared_instance_environment():
    assert installer_env_names() - PYTHON_OWN == envvars.INSTANCE | envvars.INSTANCE_HA


def test_the_local_runner_sets_exactly_the_declared_local_environment(tmp_path):
    from local.env import app_env, base_env
    from local.state import State

    state = State(tmp_path)
    env = app_env(base_env("http://127.0.0.1:1", "us-east-1"), state, origins=["http://127.0.0.1:2"], bucket="b")
    ours = {k for k in env if k.startswith(("DJANGO_", "CLINIC_", "AWS_REGION", "AWS_DEFAULT_REGION",
                                            "AWS_ENDPOINT_URL"))}
    assert ours == envvars.LOCAL


def _literal_env_names(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            names |= set(re.findall(r"\b(?:DJANGO|CLINIC)_[A-Z][A-Z0-9_]*\b", node.value))
    return names


def test_every_name_the_app_reads_is_declared():
    """Literal DJANGO_*/CLINIC_* names anywhere in the app (and the backup tool) are declared;
    settings.py reads none literally."""
    sources = [p for p in (REPO / "clinic_app").rglob("*.py") if p.name != "envvars.py" and "tests" not in p.parts]
    sources.append(REPO / "ec2_userdata" / "clinic_dbbackup.py")
    undeclared = {}
    for path in sources:
        extra = _literal_env_names(path) - envvars.ALL - {"DJANGO_SETTINGS_MODULE"}
        extra = {n for n in extra if not n.startswith("CLINIC_LOCAL_")}
        if extra:
            undeclared[str(path.relative_to(REPO))] = sorted(extra)
    assert undeclared == {}
    assert _literal_env_names(REPO / "clinic_app" / "clinic" / "settings.py") == set()


def _docstring_ids(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def spelled_env_names(path: Path) -> list[str]:
    """DJANGO_*/CLINIC_* names written as string literals (docstrings may explain them)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _docstring_ids(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            found += [f"{path.relative_to(REPO)}:{node.lineno}: {name}"
                      for name in re.findall(r"\b(?:DJANGO|CLINIC)_[A-Z][A-Z0-9_]*\b", node.value)]
    return found


SPELLING_TREES = ("clinic_app", "local", "scripts", "lambda_src", "stacks", "ec2_userdata")


def test_no_name_is_spelled_outside_envvars():
    """Every Python file that runs (the app, the local runner, scripts, the processor, the
    stack, the instance's tools and gunicorn.conf.py) imports the names from envvars.
    The local runner's own CLINIC_LOCAL_* variables are not the app's."""
    found = []
    for tree in SPELLING_TREES:
        for path in sorted((REPO / tree).rglob("*.py")):
            if path.name == "envvars.py" or "__pycache__" in path.parts or "migrations" in path.parts:
                continue
            found += [f for f in spelled_env_names(path) if not (tree == "local" and "CLINIC_LOCAL_" in f)]
    assert found == []


def test_the_spelling_scan_finds_a_name(tmp_path, monkeypatch):
    planted = tmp_path / "x.py"
    planted.write_text('"""CLINIC_DEBUG in a docstring is fine."""\nimport os\nos.environ.get("CLINIC_HTTPS")\n')
    monkeypatch.setattr(sys.modules[__name__], "REPO", tmp_path)
    assert spelled_env_names(planted) == ["x.py:3: CLINIC_HTTPS"]


@pytest.mark.parametrize(("value", "started"), [("", True), ("1", True), ("off", False), ("0", False)])
def test_the_outbox_thread_switch_is_a_strict_boolean(value, started):
    """clinic/wsgi.py reads settings.OUTBOX_THREAD (env_bool), not "anything but 0"."""
    probe = ("import clinic.wsgi; from registry import outbox; "
             "print('started' if outbox._thread_started.is_set() else 'off')")
    result = _run_with_settings(probe, **{envvars.OUTBOX_THREAD: value})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ("started" if started else "off")


def test_a_misspelt_outbox_switch_stops_the_app():
    result = _run_with_settings("import clinic.wsgi", **{envvars.OUTBOX_THREAD: "ture"})
    assert result.returncode != 0 and "ImproperlyConfigured" in result.stderr
    assert envvars.OUTBOX_THREAD in result.stderr and "'ture'" in result.stderr


# --- settings fail loudly ------------------------------------------------------------------

def _run_with_settings(code: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CLINIC_"))}
    clean.update({"DJANGO_SETTINGS_MODULE": "clinic.settings", "CLINIC_ALLOW_INSECURE_KEY": "1",
                  "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "clinic_app")]), **env})
    return subprocess.run([sys.executable, "-c", code], env=clean, capture_output=True, text=True, timeout=60,
                          check=False)


def _import_settings(**env: str) -> subprocess.CompletedProcess:
    return _run_with_settings("from django.conf import settings; settings.DEBUG; print('ok')", **env)


@pytest.mark.parametrize(("name", "value"), [
    (envvars.DEBUG, "ture"), (envvars.HTTPS, "sim"), (envvars.SERVE_STATIC, "2"),
    (envvars.ALLOW_INSECURE_KEY, "yes please"),
    (envvars.LOGIN_MAX_FAILURES, "five"), (envvars.LOGIN_MAX_FAILURES, "0"), (envvars.LOGIN_LOCKOUT_SECONDS, "1.5"),
    (envvars.S3_READ_TIMEOUT, "fast"), (envvars.S3_CONNECT_TIMEOUT, "0"), (envvars.S3_BREAKER_SECONDS, "nan"),
    (envvars.PHOTO_DELETE_SETTLE_SECONDS, "-1"),
])
def test_a_value_settings_do_not_understand_is_an_error_naming_the_variable(name, value):
    result = _import_settings(**{name: value})
    assert result.returncode != 0 and "ImproperlyConfigured" in result.stderr, result.stdout
    assert name in result.stderr and repr(value) in result.stderr


@pytest.mark.parametrize(("name", "value"), [
    (envvars.DEBUG, "0"), (envvars.DEBUG, "FALSE"), (envvars.HTTPS, " on "), (envvars.HTTPS, ""),
    (envvars.LOGIN_MAX_FAILURES, "7"), (envvars.S3_READ_TIMEOUT, "0.5"), (envvars.PHOTO_DELETE_SETTLE_SECONDS, "0"),
])
def test_values_settings_understand_still_import(name, value):
    result = _import_settings(**{name: value})
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr
