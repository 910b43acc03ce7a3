"""lambda_src/s3_event.py on every shape of event S3, SQS and a misconfiguration can deliver.

S3 URL-encodes object keys in event notifications (a space arrives as '+', other
characters as %XX of their UTF-8 bytes, a literal '+' as %2B); the parser decodes
them once, for the Lambda handler and the local worker alike. A record without
its ``s3`` part, or with parts missing, becomes an object with empty fields
(the handler then ignores it) instead of an exception that would fail the batch.
"""

from __future__ import annotations

import json

import pytest
import s3_event
from s3_event import S3Object


def record(key="uploads/p/a.jpg", event_name="ObjectCreated:Put", bucket="clinic-photos") -> dict:
    return {"eventVersion": "2.1", "eventSource": "aws:s3", "eventName": event_name,
            "s3": {"bucket": {"name": bucket}, "object": {"key": key, "size": 10}}}


@pytest.mark.parametrize(("raw", "decoded"), [
    ("uploads/p/foto+do+gato.jpg", "uploads/p/foto do gato.jpg"),          # spaces arrive as '+'
    ("uploads/p/c%C3%A3o.jpg", "uploads/p/cão.jpg"),                       # UTF-8 bytes as %XX
    ("uploads/p/1%2B1.jpg", "uploads/p/1+1.jpg"),                          # a literal '+'
    ("uploads/p/a%2Fb.jpg", "uploads/p/a/b.jpg"),                          # an encoded slash decodes too
    ("uploads/p/100%25.jpg", "uploads/p/100%.jpg"),                        # a literal '%'
    ("uploads/p/Jo%C3%A3o+%26+Z%C3%A9.JPG", "uploads/p/João & Zé.JPG"),
    ("uploads/p/plain-name_1.jpg", "uploads/p/plain-name_1.jpg"),
])
def test_keys_are_url_decoded_once(raw, decoded):
    (obj,) = s3_event.objects({"Records": [record(raw)]})
    assert obj == S3Object("ObjectCreated:Put", "clinic-photos", decoded)


def test_a_decoded_key_is_not_decoded_twice():
    """'%2541' is '%41' after one decoding; a second pass would make it 'A'."""
    (obj,) = s3_event.objects({"Records": [record("uploads/p/%2541.jpg")]})
    assert obj.key == "uploads/p/%41.jpg"


def test_every_record_of_a_batch_in_order():
    event = {"Records": [record("uploads/a/1.jpg", bucket="b1"), record("uploads/b/2.jpg", "ObjectCreated:Post", "b2"),
                         record("uploads/c/3.jpg", "ObjectCreated:CompleteMultipartUpload")]}
    assert s3_event.objects(event) == [
        S3Object("ObjectCreated:Put", "b1", "uploads/a/1.jpg"),
        S3Object("ObjectCreated:Post", "b2", "uploads/b/2.jpg"),
        S3Object("ObjectCreated:CompleteMultipartUpload", "clinic-photos", "uploads/c/3.jpg"),
    ]


@pytest.mark.parametrize(("event_name", "created"), [
    ("ObjectCreated:Put", True), ("ObjectCreated:Post", True), ("ObjectCreated:Copy", True),
    ("ObjectCreated:CompleteMultipartUpload", True),
    ("ObjectRemoved:Delete", False), ("ObjectRemoved:DeleteMarkerCreated", False),
    ("ObjectRestore:Completed", False), ("s3:ObjectCreated:Put", False),  # the configuration's spelling, not an event's
    ("LifecycleExpiration:Delete", False), ("objectcreated:put", False), ("", False),
])
def test_only_object_created_events_are_created(event_name, created):
    (obj,) = s3_event.objects({"Records": [record(event_name=event_name)]})
    assert obj.event_name == event_name and obj.created is created


def test_a_record_without_event_name_is_taken_as_a_put():
    """The local runner's hand-made events name no event: they are uploads."""
    (obj,) = s3_event.objects({"Records": [{"s3": {"bucket": {"name": "b"}, "object": {"key": "k"}}}]})
    assert obj == S3Object("ObjectCreated:Put", "b", "k") and obj.created


def test_a_non_string_event_name_is_text():
    (obj,) = s3_event.objects({"Records": [record(event_name=7)]})
    assert obj.event_name == "7" and not obj.created


@pytest.mark.parametrize(("rec", "expected"), [
    ({}, S3Object("ObjectCreated:Put", None, "")),                                  # no s3 at all
    ({"eventName": "ObjectCreated:Put"}, S3Object("ObjectCreated:Put", None, "")),
    ({"eventName": "ObjectCreated:Put", "s3": {}}, S3Object("ObjectCreated:Put", None, "")),
    ({"s3": {"bucket": {"name": "b"}}}, S3Object("ObjectCreated:Put", "b", "")),  # no object
    ({"s3": {"object": {"key": "uploads/p/a.jpg"}}}, S3Object("ObjectCreated:Put", None, "uploads/p/a.jpg")),
    ({"s3": {"bucket": {}, "object": {}}}, S3Object("ObjectCreated:Put", None, "")),
    ({"s3": {"bucket": {"name": "b"}, "object": {"key": None}}}, S3Object("ObjectCreated:Put", "b", "")),
    ({"s3": {"bucket": {"name": "b"}, "object": {"key": ""}}}, S3Object("ObjectCreated:Put", "b", "")),
    ("not a record", S3Object("", None, "")),
    (None, S3Object("", None, "")),
    (["a", "list"], S3Object("", None, "")),
])
def test_records_with_parts_missing_become_empty_objects(rec, expected):
    (obj,) = s3_event.objects({"Records": [rec]})
    assert obj == expected


def test_a_broken_record_does_not_hide_the_others():
    event = {"Records": [None, record("uploads/a/1.jpg"), {"s3": {}}, record("uploads/b/2.jpg")]}
    assert [o.key for o in s3_event.objects(event)] == ["", "uploads/a/1.jpg", "", "uploads/b/2.jpg"]


@pytest.mark.parametrize("event", [None, {}, {"Records": []}, {"Records": None}, {"Other": [record()]}, []])
def test_events_without_records_have_no_objects(event):
    assert s3_event.objects(event) == []


# --- SQS message bodies (the local worker, and an S3 -> SQS notification) -----------------------

def test_a_message_body_with_records_is_the_event():
    event = {"Records": [record("uploads/p/foto+1.jpg")]}
    assert s3_event.from_message_body(json.dumps(event)) == event
    assert [o.key for o in s3_event.objects(s3_event.from_message_body(json.dumps(event)))] == ["uploads/p/foto 1.jpg"]


@pytest.mark.parametrize("body", [
    "",                                                                     # empty
    "{",                                                                    # not JSON
    "not json at all",
    "[]", "[{\"Records\": []}]", "null", "42", "\"text\"",                  # JSON, not an object
    json.dumps({"Records": []}),                                            # no record
    json.dumps({"Records": None}),
    json.dumps({"Records": {"0": {}}}),                                     # records not a list
    json.dumps({"Records": "x"}),
    json.dumps({"Other": 1}),
    # what S3 sends to a queue when a notification is configured
    json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Time": "2026-11-29T08:00:00.000Z",
                "Bucket": "clinic-photos", "RequestId": "R", "HostId": "H"}),
    json.dumps({"Event": "s3:TestEvent", "Records": [record()]}),           # even with records
])
def test_test_events_and_junk_are_not_events(body):
    assert s3_event.from_message_body(body) is None


def test_an_event_named_otherwise_is_kept():
    event = {"Event": "something-else", "Records": [record()]}
    assert s3_event.from_message_body(json.dumps(event)) == event
