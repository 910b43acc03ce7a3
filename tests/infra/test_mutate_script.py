"""scripts/mutate.py's bookkeeping: how the SQLite and PostgreSQL verdicts combine, and the
score it prints (docs/testing.md, "Mutation score")."""

from __future__ import annotations

from scripts import mutate as m

SURVIVED, KILLED, NO_TESTS = 0, 1, 33


def test_a_kill_on_postgresql_counts_and_a_sqlite_only_survivor_keeps_its_verdict():
    sqlite = {"pg_only": NO_TESTS, "shared": SURVIVED, "sqlite_only": SURVIVED, "equivalent": SURVIVED}
    postgres = {"pg_only": SURVIVED, "shared": KILLED, "sqlite_only": NO_TESTS, "equivalent": SURVIVED}
    assert m._merge(sqlite, postgres, list(sqlite)) == {"pg_only": SURVIVED, "shared": KILLED}


def test_a_mutant_postgresql_did_not_run_keeps_the_sqlite_verdict():
    assert m._merge({"a": NO_TESTS, "b": SURVIVED}, {}, ["a", "b"]) == {}


def test_the_score_counts_timeouts_as_kills_and_no_tests_as_survivors():
    codes = {"registry.search.x_a__mutmut_1": KILLED, "registry.search.x_a__mutmut_2": 24,
             "registry.search.x_a__mutmut_3": SURVIVED, "s3_event.x_b__mutmut_1": NO_TESTS,
             "s3_event.x_b__mutmut_2": None}
    s = m.summarise(codes, 12.4, ["*"])
    assert (s["checked"], s["killed_percent"]) == (4, 50.0)
    assert s["survivors"] == ["registry.search.x_a__mutmut_3", "s3_event.x_b__mutmut_1"]
    assert s["modules"] == {"registry.search": 3, "s3_event": 2}


def test_the_postgresql_stage_holds_the_sqlite_stage_s_code_without_the_processor_suite(tmp_path, monkeypatch):
    stage, stage_pg = tmp_path / "mutation", tmp_path / "mutation-pg"
    (stage / "src" / "registry").mkdir(parents=True)
    (stage / "src" / "registry" / "search.py").write_text("# staged\n")
    (stage / "tests" / "processor").mkdir(parents=True)
    (stage / "mutants").mkdir()
    (stage / "setup.cfg").write_text("[mutmut]\nx =\n    tests/app/test_a.py\n    tests/processor/test_b.py\n")
    monkeypatch.setattr(m, "STAGE", stage)
    monkeypatch.setattr(m, "STAGE_PG", stage_pg)
    m.stage_postgres()
    assert (stage_pg / "src" / "registry" / "search.py").read_text() == "# staged\n"
    assert not (stage_pg / "tests" / "processor").exists() and not (stage_pg / "mutants").exists()
    assert "tests/processor" not in (stage_pg / "setup.cfg").read_text()
    assert "tests/app/test_a.py" in (stage_pg / "setup.cfg").read_text()
