"""Processor test fixtures. lambda_src's flat modules are on the path through
pytest.ini (as the Lambda runtime has its asset root)."""

import pytest


@pytest.fixture
def aws_env(monkeypatch):
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3",
                 "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")


@pytest.fixture
def s3(aws_env):
    """A moto S3 with one bucket; the handler's cached client is reset around it."""
    import boto3
    import handler
    from moto import mock_aws
    from processor_helpers import BUCKET

    with mock_aws():
        handler._s3 = None
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client
        handler._s3 = None
