"""handler.py stays thin: short steps, the S3 event parsed in one place (shared with the
local worker), fields bound once on the logger, no Powertools names without Powertools."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import s3_event

REPO = Path(__file__).resolve().parents[2]
HANDLER = REPO / "lambda_src" / "handler.py"


def test_every_handler_function_is_short():
    tree = ast.parse(HANDLER.read_text())
    long = {f.name: f.end_lineno - f.lineno + 1 for f in ast.walk(tree)
            if isinstance(f, ast.FunctionDef) and f.end_lineno - f.lineno + 1 > 40}
    assert long == {}


def test_the_handler_binds_fields_instead_of_repeating_them():
    assert 'extra={"fields"' not in HANDLER.read_text()


def test_no_powertools_names_without_powertools():
    for tree in ("stacks", "lambda_src", "local"):
        for path in (REPO / tree).rglob("*.py"):
            assert "POWERTOOLS_" not in path.read_text(), path
    for snapshot in (REPO / "tests" / "snapshots").glob("*.json"):
        assert "POWERTOOLS_" not in snapshot.read_text(), snapshot


def test_s3_event_parsing():
    event = {"Records": [
        {"eventName": "ObjectCreated:Post", "s3": {"bucket": {"name": "b"}, "object": {"key": "uploads/p/foto+do+c%C3%A3o.jpg"}}},
        {"eventName": "ObjectRemoved:Delete", "s3": {"bucket": {"name": "b"}, "object": {"key": "uploads/p/a.jpg"}}},
        {"s3": {}},
    ]}
    created, removed, empty = s3_event.objects(event)
    assert created == s3_event.S3Object("ObjectCreated:Post", "b", "uploads/p/foto do cão.jpg") and created.created
    assert not removed.created
    assert empty.bucket is None and empty.key == ""
    assert s3_event.objects(None) == [] and s3_event.objects({}) == []
    assert s3_event.from_message_body(json.dumps(event)) == event
    for junk in ("{", "[]", json.dumps({"Event": "s3:TestEvent", "Records": [{}]}), json.dumps({"Records": []})):
        assert s3_event.from_message_body(junk) is None


def test_the_local_worker_parses_events_with_the_same_code():
    import inspect

    from local import worker

    assert Path(inspect.getsourcefile(worker.event_of)) == REPO / "lambda_src" / "s3_event.py"
    assert worker.event_of.__name__ == "from_message_body"
