"""`make mutate`: mutation score of lambda_src/ and clinic_app/registry/ (mutmut 3).

Stages the code in build/mutation/ (see mutation.cfg for why), runs
`mutmut run` there on SQLite, then runs the app's survivors again on
PostgreSQL in build/mutation-pg/ (a throwaway cluster, local/pg.py: `make test`
runs the app suite on both, and the search has a PostgreSQL engine of its
own), then prints the kill ratio and the surviving mutants and writes them to
build/mutation/summary.json.

    python -m scripts.mutate                 # the tracked scope (DEFAULT_SCOPE)
    python -m scripts.mutate 'handler.*'     # only mutants whose name matches (all of handler.py)
    python -m scripts.mutate --jobs 2 --keep # reuse earlier results in build/mutation/
    python -m scripts.mutate --no-postgres   # SQLite only (the summary says so)
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from clinic_app.clinic import envvars as E
from local import pg

REPO = Path(__file__).resolve().parent.parent
STAGE = REPO / "build" / "mutation"
STAGE_PG = REPO / "build" / "mutation-pg"
# what the PostgreSQL pass re-runs: the app's code (the processor has no database)
ON_POSTGRES = "registry.*"
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")

# mutmut's own exit-code vocabulary (mutmut.stats.status_by_exit_code)
KILLED = {1, 3, 37}
SURVIVED = {0}
TIMEOUT = {24, -24, 36, 152, 255}
NO_TESTS = {5, 33}


# The tracked scope: fits the 30-minute budget on 2 cores (docs/testing.md).
# handler.process_record is left out: each of its ~270 mutants re-runs most
# of the moto-backed processor suite (`make mutate MUTATE_ARGS='handler.*'`).
DEFAULT_SCOPE = [
    "registry.validators.*",
    "registry.search.*",
    "handler.x__*", "handler.x_handler*", "handler.x_s3*",
    "photo_contract.*", "s3_event.*",
]


def stage() -> None:
    (STAGE / "src").mkdir(parents=True, exist_ok=True)
    for f in sorted((REPO / "lambda_src").glob("*.py")):
        shutil.copy2(f, STAGE / "src" / f.name)
    shutil.copytree(REPO / "clinic_app" / "registry", STAGE / "src" / "registry", ignore=IGNORE, dirs_exist_ok=True)
    # the Django project without its app: `registry` must resolve to the mutated copy only
    (STAGE / "clinic_app").mkdir(exist_ok=True)
    shutil.copytree(REPO / "clinic_app" / "clinic", STAGE / "clinic_app" / "clinic", ignore=IGNORE,
                    dirs_exist_ok=True)
    shutil.copy2(REPO / "clinic_app" / "manage.py", STAGE / "clinic_app" / "manage.py")
    (STAGE / "tests").mkdir(exist_ok=True)
    for name in ("__init__.py", "conftest.py"):
        shutil.copy2(REPO / "tests" / name, STAGE / "tests" / name)
    for suite in ("app", "processor"):
        shutil.copytree(REPO / "tests" / suite, STAGE / "tests" / suite, ignore=IGNORE, dirs_exist_ok=True)
    shutil.copy2(REPO / "pytest.ini", STAGE / "pytest.ini")
    shutil.copy2(REPO / "mutation.cfg", STAGE / "setup.cfg")


def stage_postgres() -> None:
    """The PostgreSQL stage: the SQLite stage's copy (the same code and tests, even if the
    repository changed meanwhile) without the processor's suite, which has no database."""
    shutil.copytree(STAGE, STAGE_PG, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("mutants", "summary.json", ".clinic-test-db-*", "__pycache__"))
    shutil.rmtree(STAGE_PG / "tests" / "processor", ignore_errors=True)
    cfg = (STAGE_PG / "setup.cfg").read_text().splitlines()
    (STAGE_PG / "setup.cfg").write_text("\n".join(x for x in cfg if not x.strip().startswith("tests/processor/")) + "\n")


def results(stage_dir: Path = STAGE) -> dict[str, int | None]:
    out: dict[str, int | None] = {}
    for meta in (stage_dir / "mutants").rglob("*.meta"):
        data = json.loads(meta.read_text())
        out.update(data.get("exit_code_by_key", {}))
    return out


def summarise(codes: dict[str, int | None], seconds: float, patterns: list[str]) -> dict:
    def status(code):
        if code in KILLED:
            return "killed"
        if code in SURVIVED:
            return "survived"
        if code in TIMEOUT:
            return "timeout"
        if code in NO_TESTS:
            return "no tests"
        if code is None:
            return "not checked"
        return "suspicious"

    by_status = Counter(status(c) for c in codes.values())
    checked = sum(n for s, n in by_status.items() if s != "not checked")
    # a timeout counts as killed (the mutant made the tests hang: they noticed);
    # "no tests" counts as survived (no test runs the mutated code)
    killed = by_status["killed"] + by_status["timeout"]
    score = 100.0 * killed / checked if checked else 0.0
    modules = Counter(k.split(".x")[0] for k in codes)
    survivors = sorted(k for k, c in codes.items() if status(c) in ("survived", "no tests", "suspicious"))
    return {
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
        "patterns": patterns,
        "seconds": round(seconds),
        "mutants": len(codes), "checked": checked, "by_status": dict(by_status),
        "killed_percent": round(score, 1), "modules": dict(sorted(modules.items())),
        "survivors": survivors,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("patterns", nargs="*", help="mutant name globs (mutmut run NAMES)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="parallel mutants (default: CPUs)")
    parser.add_argument("--keep", action="store_true", help="keep build/mutation/ (resume an earlier run)")
    parser.add_argument("--no-postgres", action="store_true", help="no second pass of the survivors on PostgreSQL")
    args = parser.parse_args(argv)

    if not args.keep and STAGE.exists():
        shutil.rmtree(STAGE)
    stage()
    patterns = args.patterns or DEFAULT_SCOPE
    started = time.monotonic()
    returncode = _mutmut(STAGE, patterns, args.jobs)
    codes = _in_scope(results(), patterns)
    on_sqlite = [n for n in _survivors(codes) if fnmatch.fnmatch(n, ON_POSTGRES)]
    postgres = "not run (--no-postgres)"
    killed_on_pg: list[str] = []
    if on_sqlite and not args.no_postgres:
        postgres, pg_codes = _postgres_pass(on_sqlite, args.jobs, keep=args.keep)
        killed_on_pg = sorted(n for n in on_sqlite if pg_codes.get(n) in KILLED | TIMEOUT)
        codes.update(_merge(codes, pg_codes, on_sqlite))
    summary = summarise(codes, time.monotonic() - started, patterns)
    summary["postgresql"] = {"pass": postgres, "rerun": len(on_sqlite), "killed": killed_on_pg}
    (STAGE / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    print(f"\nmutation score: {summary['killed_percent']} % killed "
          f"({summary['by_status']}) of {summary['checked']} checked mutants in {summary['seconds']} s")
    print(f"PostgreSQL pass: {postgres}; of the {len(on_sqlite)} app mutants that survived SQLite "
          f"it killed {len(killed_on_pg)}")
    print("survivors:" if summary["survivors"] else "survivors: none")
    for name in summary["survivors"]:
        print(f"  {name}  (mutmut show {name})")
    print(f"details: {STAGE / 'summary.json'}; `cd {STAGE.relative_to(REPO)} && ../../.venv/bin/mutmut show NAME`")
    return returncode


def _mutmut(stage_dir: Path, names: list[str], jobs: int, env: dict[str, str] | None = None) -> int:
    mutmut = Path(sys.executable).parent / "mutmut"
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **(env or {})}
    return subprocess.run([str(mutmut), "run", "--max-children", str(jobs), *names],
                          cwd=stage_dir, env=env).returncode


def _in_scope(codes: dict[str, int | None], patterns: list[str]) -> dict[str, int | None]:
    return {k: v for k, v in codes.items() if any(fnmatch.fnmatch(k, p) for p in patterns)}


def _survivors(codes: dict[str, int | None]) -> list[str]:
    return sorted(k for k, c in codes.items() if c in SURVIVED or c in NO_TESTS)


def _merge(sqlite: dict[str, int | None], postgres: dict[str, int | None], names: list[str]) -> dict:
    """A kill on PostgreSQL counts; so does PostgreSQL's verdict on a mutant SQLite never ran
    ("no tests": a PostgreSQL-only function). A SQLite-only function keeps SQLite's verdict."""
    return {n: postgres[n] for n in names
            if postgres.get(n) in KILLED | TIMEOUT or (sqlite[n] in NO_TESTS and postgres.get(n) is not None)}


def _postgres_pass(names: list[str], jobs: int, keep: bool) -> tuple[str, dict[str, int | None]]:
    """The app's SQLite survivors again, with the app on a throwaway PostgreSQL.

    A stage of its own: mutmut picks each mutant's tests from a statistics run, and only
    a run on PostgreSQL calls the PostgreSQL-only functions (the pg_trgm search)."""
    reason = pg.why_unavailable()
    if reason:
        print(f"PostgreSQL pass skipped: {reason}")
        return f"skipped: {reason}", {}
    if not keep and STAGE_PG.exists():
        shutil.rmtree(STAGE_PG)
    stage_postgres()
    print(f"\n>> {len(names)} app mutants that survived SQLite, again on PostgreSQL")
    with pg.throwaway_postgres() as url:
        code = _mutmut(STAGE_PG, names, jobs, {E.DATABASE_URL: url})
    return ("done" if code == 0 else f"mutmut exited {code}"), results(STAGE_PG)


if __name__ == "__main__":
    sys.exit(main())
