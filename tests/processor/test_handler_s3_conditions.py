"""S3 conditions the processor must meet as real S3 produces them, driven through moto.

* A HEAD error has no body (HTTP HEAD never carries one), so real S3 answers
  HeadObject on a missing bucket with a bare ``404`` and botocore reports
  Code "404", exactly as for a deleted key. moto puts a NoSuchBucket XML body
  in its HEAD error; the ``bare_head_errors`` hook drops that body before
  botocore parses the response, which gives the real condition.
* "Replaced between HEAD and GET": the object is overwritten by a second
  client right after the handler's HEAD returns; only a GET with IfMatch
  (the HEAD's ETag) refuses the new bytes.
* An ignored event logs no fragment of its key (a file name is personal data).
"""

from __future__ import annotations

import json
import logging
import re
from urllib.parse import quote_plus

import handler
import photo_factory as pf
import pytest
from botocore.exceptions import ClientError
from processor_helpers import BUCKET, all_objects, s3_event


def bare_head_errors(client):
    """Make moto's HEAD errors look like real S3's: status only, empty body."""
    def strip(response_dict, **_):
        if response_dict["status_code"] >= 300:
            response_dict["body"] = b""

    client.meta.events.register("before-parse.s3.HeadObject", strip)


def test_head_on_a_missing_bucket_is_a_bare_404_and_still_raises(s3):
    client = handler.s3()
    bare_head_errors(client)
    # the condition itself, as real S3 gives it: no code but the status
    with pytest.raises(ClientError) as head:
        client.head_object(Bucket="no-such-bucket-x", Key="uploads/nb/a.jpg")
    assert head.value.response["Error"]["Code"] == "404"
    assert head.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    # the handler must not take it for a deleted key: the bucket is missing
    # (configuration error), so it raises for the retry/on-failure destination
    gets = []
    client.meta.events.register("before-parameter-build.s3.GetObject", lambda params, **kw: gets.append(params))
    with pytest.raises(ClientError):
        handler.handler(s3_event("uploads/nb/a.jpg", bucket="no-such-bucket-x"), None)
    assert gets and gets[0].get("Range") == "bytes=0-0", "the 1-byte GET tells a missing bucket from a deleted key"


def test_head_on_a_deleted_key_is_a_bare_404_and_is_skipped(s3):
    client = handler.s3()
    bare_head_errors(client)
    assert handler.handler(s3_event("uploads/gone/a.jpg"), None) == {"ok": 0, "failed": 0, "skipped": 1}
    assert all_objects(s3, "processed/") == {}


def test_object_replaced_between_head_and_get_is_not_processed(s3):
    key = "uploads/swap/a.jpg"
    s3.put_object(Bucket=BUCKET, Key=key, Body=pf.plain_jpeg(color=pf.GREEN))
    client = handler.s3()
    replaced, sent_if_match = [], []

    def overwrite_after_head(**_):
        if not replaced:  # the uploader sends a new file right after our HEAD
            s3.put_object(Bucket=BUCKET, Key=key, Body=pf.plain_jpeg(size=(300, 200), color=pf.RED))
            replaced.append(True)

    def record_get(request, **_):
        sent_if_match.append(request.headers.get("If-Match"))

    client.meta.events.register("after-call.s3.HeadObject", overwrite_after_head)
    client.meta.events.register("before-send.s3.GetObject", record_get)
    assert handler.handler(s3_event(key), None) == {"ok": 0, "failed": 0, "skipped": 1}
    assert replaced and sent_if_match and sent_if_match[0], "the GET must carry If-Match"
    # nothing was written from bytes that were never size-checked
    assert all_objects(s3, "processed/") == {}


# ------------------------------------------------------------------ ignored events, no key in the logs

PERSONAL = "Maria José da Silva CPF 529.982.247-25 (Thor).jpg"


def _fragments(key: str) -> set[str]:
    """Every piece of the key (decoded and URL-encoded) a log could leak."""
    pieces = set()
    for text in (key, quote_plus(key, safe="/")):
        pieces.update(p for p in re.split(r"[/\s.+()%_\-]+", text) if len(p) >= 3)
    return pieces - {"uploads", "processed", "jpg"}


@pytest.mark.parametrize(("key", "kw"), [
    (f"other/{PERSONAL}", {}),                               # outside uploads/
    (f"uploads/{PERSONAL}", {}),                             # no <photo_id>/ level
    ("uploads/3fa9c1d2e4b5/" + PERSONAL, {"event_name": "ObjectRemoved:Delete"}),  # not a creation
    ("uploads/3fa9c1d2e4b5/" + PERSONAL, {"bucket": ""}),    # no bucket in the record
    (f"processed/3fa9c1d2e4b5/{PERSONAL}", {}),
    ("uploads/3fa9c1d2e4b5/", {}),                           # a "folder"
    (f"uploads/../{PERSONAL}", {}),
])
def test_ignored_events_log_no_fragment_of_the_key(s3, capsys, caplog, key, kw):
    with caplog.at_level(logging.DEBUG):
        summary = handler.handler(s3_event(key, **kw), None)
    assert summary == {"ok": 0, "failed": 0, "skipped": 1}
    out = capsys.readouterr()
    entries = [json.loads(line) for line in out.out.splitlines() if line.strip().startswith("{")]
    assert any(e["message"] == "ignored" for e in entries), "the ignored event is still logged"
    # every line as written, except each entry's timestamp: its milliseconds ("…:05.982Z")
    # would match a 3-digit piece of the key by chance one run in a few hundred
    lines = [json.dumps({k: v for k, v in json.loads(line).items() if k != "timestamp"}, ensure_ascii=False)
             if line.strip().startswith("{") else line for line in out.out.splitlines()]
    logged = "\n".join(lines) + out.err + "\n".join(
        f"{r.getMessage()} {getattr(r, 'fields', '')} {r.args}" for r in caplog.records)
    leaked = sorted(f for f in _fragments(key) if f.lower() in logged.lower())
    assert not leaked, f"the log holds fragments of the key: {leaked}"


# ------------------------------------------------------------------ routing and error helpers (mutation survivors)

@pytest.mark.parametrize(("key", "photo_id"), [
    ("uploads/abc/x.jpg", "abc"),
    ("uploads/abc/sub/x.jpg", "abc"),
    ("uploads/a b/x.jpg", None),           # a photo id is one safe segment (the app makes 32 hex digits)
    ("uploads/.../x.jpg", "..."),
    ("uploads/abc", None), ("uploads/abc/", None), ("uploads/abc/sub/", None),
    ("uploads//x.jpg", None), ("uploads/", None), ("uploads", None),
    ("uploads/./x.jpg", None), ("uploads/../x.jpg", None),
    ("uploads/a\x1fb/x.jpg", None), ("uploads/\x00/x.jpg", None), ("uploads/a\nb/x.jpg", None),
    ("Uploads/abc/x.jpg", None), ("uploadsabc/x.jpg", None), ("processed/abc/x.jpg", None),
    ("x/uploads/abc/x.jpg", None),
])
def test_photo_id_of(key, photo_id):
    """The processor routes by the contract's parser (photo_contract.photo_id_of_upload)."""
    import photo_contract

    assert photo_contract.photo_id_of_upload(key) == photo_id


def test_error_code_reads_the_code_or_nothing():
    assert handler._error_code(ClientError({"Error": {"Code": "NoSuchKey", "Message": "m"}}, "GetObject")) == "NoSuchKey"
    assert handler._error_code(ClientError({"Error": {"Code": 404}}, "HeadObject")) == "404"
    assert handler._error_code(ClientError({"Error": {"Message": "m"}}, "HeadObject")) == ""
    assert handler._error_code(ClientError({}, "HeadObject")) == ""


def test_head_404_on_an_object_that_exists_after_all_raises(s3):
    """A HEAD 404 followed by a successful 1-byte GET (eventual consistency,
    a proxy...) is not a deleted key: raise, the retry will process it."""
    key = "uploads/back/a.jpg"
    s3.put_object(Bucket=BUCKET, Key=key, Body=pf.plain_jpeg())
    client = handler.s3()

    def fail_head(params, **_):
        raise ClientError({"Error": {"Code": "404", "Message": "Not Found"}}, "HeadObject")

    client.meta.events.register("before-call.s3.HeadObject", fail_head)
    with pytest.raises(ClientError) as err:
        handler.handler(s3_event(key), None)
    assert err.value.response["Error"]["Code"] == "404"
    assert all_objects(s3, "processed/") == {}


def test_rejected_file_logs_its_total_time(s3, capsys):
    s3.put_object(Bucket=BUCKET, Key="uploads/rj/x.jpg", Body=pf.TEXT)
    assert handler.handler(s3_event("uploads/rj/x.jpg"), None)["failed"] == 1
    entries = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    rejected = next(e for e in entries if e["message"] == "rejected")
    assert isinstance(rejected["timings_ms"]["total"], (int, float)) and rejected["timings_ms"]["total"] >= 0
    assert {"head", "get", "total"} <= set(rejected["timings_ms"])


def test_manifest_is_utf8_json_not_ascii_escaped(s3):
    key = "uploads/acc/foto do cão.jpg"
    s3.put_object(Bucket=BUCKET, Key=key, Body=pf.TEXT)
    handler.handler(s3_event(key), None)
    raw = s3.get_object(Bucket=BUCKET, Key="processed/acc/manifest.json")["Body"].read()
    assert "foto do cão.jpg".encode() in raw and b"\\u00e3" not in raw
    assert json.loads(raw.decode("utf-8"))["source"]["key"] == key


def test_ms_is_elapsed_milliseconds_to_two_decimals(monkeypatch):
    monkeypatch.setattr(handler.time, "perf_counter", lambda: 10.0)
    assert handler._ms(9.876543) == 123.46
    assert handler._ms(10.0) == 0.0


def test_record_without_event_name_is_taken_as_a_creation(s3):
    """The local worker and hand-built test events may omit eventName."""
    key = "uploads/noev/a.jpg"
    s3.put_object(Bucket=BUCKET, Key=key, Body=pf.plain_jpeg(size=(64, 48)))
    event = s3_event(key)
    del event["Records"][0]["eventName"]
    assert handler.handler(event, None) == {"ok": 1, "failed": 0, "skipped": 0}
