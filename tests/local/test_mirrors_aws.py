"""The local run mirrors the deployed pipeline from the same definitions
(stacks/photo_pipeline.py, cdk.json): CORS, the trigger's event and prefix, the
processor's timeout and attempts. Compared with the synthesized template
(the snapshot, which tests/infra/test_template_snapshot.py keeps equal to a synth)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from local import bucket as local_bucket
from local import worker

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def resources() -> dict:
    return json.loads((REPO / "tests" / "snapshots" / "ClinicStack.template.json").read_text())["Resources"]


def _one(resources: dict, kind: str, where=lambda props: True) -> dict:
    found = [r["Properties"] for r in resources.values() if r["Type"] == kind and where(r["Properties"])]
    assert len(found) == 1, (kind, len(found))
    return found[0]


@pytest.fixture
def moto(monkeypatch):
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield boto3.client("s3", region_name="us-east-1"), boto3.client("sqs", region_name="us-east-1")


def test_cors_is_the_deployed_rule(resources, moto):
    s3, _ = moto
    local_bucket.create_bucket(s3, "photos-b", ["http://127.0.0.1:8000"])
    (local_rule,) = s3.get_bucket_cors(Bucket="photos-b")["CORSRules"]
    deployed = _one(resources, "AWS::S3::Bucket", lambda p: "CorsConfiguration" in p)["CorsConfiguration"]
    (rule,) = deployed["CorsRules"]
    assert local_rule["AllowedMethods"] == rule["AllowedMethods"]
    assert local_rule["AllowedHeaders"] == rule["AllowedHeaders"]
    assert local_rule["MaxAgeSeconds"] == rule["MaxAge"]
    assert local_rule["AllowedOrigins"] == ["http://127.0.0.1:8000"]
    with pytest.raises(ValueError):
        local_bucket.create_bucket(s3, "photos-c", ["*"])


def test_trigger_is_the_deployed_event_and_prefix(resources, moto):
    s3, sqs = moto
    s3.create_bucket(Bucket="photos-b")
    _, arn = local_bucket.create_queue(sqs)
    local_bucket.enable_notifications(s3, "photos-b", arn)
    (local_cfg,) = s3.get_bucket_notification_configuration(Bucket="photos-b")["QueueConfigurations"]
    (deployed,) = _one(resources, "Custom::S3BucketNotifications")["NotificationConfiguration"][
        "LambdaFunctionConfigurations"]
    assert local_cfg["Events"] == deployed["Events"]
    assert local_cfg["Filter"] == deployed["Filter"]


def test_timeout_and_attempts_are_the_deployed_function_s(resources, moto):
    _, sqs = moto
    url, _ = local_bucket.create_queue(sqs)
    visibility = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"]
    function = _one(resources, "AWS::Lambda::Function", lambda p: p.get("Handler") == "handler.handler")
    invoke = _one(resources, "AWS::Lambda::EventInvokeConfig")
    assert int(visibility["VisibilityTimeout"]) == function["Timeout"]
    assert worker.max_attempts() == 1 + invoke["MaximumRetryAttempts"]


def test_local_imports_no_cdk():
    code = ("import sys, local.bucket, local.worker, local.run, local.consistency, local.env; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('aws_cdk', 'constructs', 'jsii')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60,
                         check=True).stdout
    assert out.strip() == "[]"
