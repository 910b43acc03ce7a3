"""Runner pieces on their own: port message, worker event handling, mirror."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import boto3
import pytest
from moto import mock_aws

from local import worker
from local.consistency import unprocessed_uploads
from local.s3_mirror import Mirror
from tests.local.stack import REPO

S3_EVENT = {"Records": [{"eventName": "ObjectCreated:Post",
                         "s3": {"bucket": {"name": "b"}, "object": {"key": "uploads%2Fp%2Fx.jpg"}}}]}


@pytest.mark.parametrize("option", ["--app-port", "--s3-port"])
def test_a_port_in_use_gives_one_clear_line_and_exit_2(tmp_path, option):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "local", "--state-dir", str(tmp_path), option, str(port)],
                                cwd=REPO, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip() == (f"Port {port} is already in use (another make local?). "
                                     f"Use {option} PORT to pick another one.")
    assert not (tmp_path / "data").exists()  # nothing started or created


def test_worker_ignores_test_events_and_junk():
    assert worker.event_of(json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent"})) is None
    assert worker.event_of("not json") is None
    assert worker.event_of(json.dumps({"Records": []})) is None
    assert worker.event_of(json.dumps(S3_EVENT)) == S3_EVENT


class FakeSQS:
    def __init__(self):
        self.deleted, self.delayed = [], []

    def delete_message(self, QueueUrl, ReceiptHandle):
        self.deleted.append(ReceiptHandle)

    def change_message_visibility(self, QueueUrl, ReceiptHandle, VisibilityTimeout):
        self.delayed.append((ReceiptHandle, VisibilityTimeout))


def _message(receive_count: int) -> dict:
    return {"ReceiptHandle": "r", "MessageId": "m", "Body": json.dumps(S3_EVENT),
            "Attributes": {"ApproximateReceiveCount": str(receive_count)}}


def test_worker_passes_the_s3_event_unchanged_and_deletes_the_message():
    seen, sqs = [], FakeSQS()
    result = worker.handle_message(_message(1), lambda e, c: seen.append((e, c.aws_request_id)), sqs, "q")
    assert result == "done" and seen == [(S3_EVENT, "m")] and sqs.deleted == ["r"]


def test_worker_retries_a_raising_handler_then_drops_it_like_lambda_async():
    def boom(event, context):
        raise RuntimeError("throttled")

    sqs = FakeSQS()
    assert worker.handle_message(_message(1), boom, sqs, "q") == "retry"
    assert sqs.delayed == [("r", worker.RETRY_DELAY_SECONDS)] and not sqs.deleted
    assert worker.handle_message(_message(worker.max_attempts()), boom, sqs, "q") == "dropped"
    assert sqs.deleted == ["r"]


def test_worker_loads_the_deployed_handler_module(tmp_path):
    """In the worker's own environment (local/env.py), with no sys.path edit anywhere."""
    from local.env import base_env, worker_env

    env = worker_env(base_env("http://127.0.0.1:1", "us-east-1"))
    code = ("import sys; before = list(sys.path); from local import worker; fn = worker.load_handler(); "
            "import handler; assert sys.path == before; print(fn.__module__, handler.__file__)")
    result = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["handler", str(REPO / "lambda_src" / "handler.py")]


@mock_aws
def test_mirror_copies_changes_forgets_deletions_and_restores_headers(tmp_path):
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="src")
    s3.put_object(Bucket="src", Key="processed/p/thumb.jpg", Body=b"jpg", ContentType="image/jpeg",
                  CacheControl="private, max-age=86400", Metadata={"a": "b"})
    s3.put_object(Bucket="src", Key="uploads/p/x.jpg", Body=b"orig", ContentType="image/jpeg")
    mirror = Mirror(tmp_path)
    assert mirror.sync(s3, "src") == (2, 0)
    assert mirror.sync(s3, "src") == (0, 0)  # unchanged: nothing copied
    s3.put_object(Bucket="src", Key="uploads/p/x.jpg", Body=b"changed", ContentType="image/png")
    s3.delete_object(Bucket="src", Key="processed/p/thumb.jpg")
    assert mirror.sync(s3, "src") == (1, 1)
    s3.put_object(Bucket="src", Key="processed/p/thumb.jpg", Body=b"jpg", ContentType="image/jpeg",
                  CacheControl="private, max-age=86400", Metadata={"a": "b"})
    mirror.sync(s3, "src")

    reloaded = Mirror(tmp_path)  # as the next run sees it
    assert reloaded.keys() == {"processed/p/thumb.jpg", "uploads/p/x.jpg"}
    s3.create_bucket(Bucket="dst")
    assert reloaded.restore(s3, "dst", reloaded.keys()) == 2
    got = s3.get_object(Bucket="dst", Key="processed/p/thumb.jpg")
    assert (got["Body"].read(), got["ContentType"], got["CacheControl"], got["Metadata"]) == (
        b"jpg", "image/jpeg", "private, max-age=86400", {"a": "b"})
    assert s3.get_object(Bucket="dst", Key="uploads/p/x.jpg")["ContentType"] == "image/png"


def test_uploads_without_a_manifest_are_the_unprocessed_ones():
    keys = {"uploads/a/x.jpg", "processed/a/manifest.json", "processed/a/thumb.jpg", "uploads/b/y.jpg"}
    assert unprocessed_uploads(keys) == {"uploads/b/y.jpg"}
