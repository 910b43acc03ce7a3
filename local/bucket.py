"""The local photo bucket, shaped like the deployed one from the same definitions
(stacks/photo_pipeline.py, also used by stacks/photo_storage.py and
stacks/photo_processor.py): versioned, the same CORS rule, and the same
ObjectCreated trigger on the uploads prefix (to an SQS queue here, because the
local "Lambda" is a worker process polling it, with the deployed timeout as the
queue's visibility timeout)."""

from __future__ import annotations

import boto3
from botocore.config import Config

from stacks.config import from_cdk_json
from stacks.photo_pipeline import TRIGGER_EVENT, TRIGGER_PREFIX, ProcessorRuntime, cors_rule

BUCKET = "clinic-photos-local"
QUEUE = "clinic-photo-events"
REGION = "us-east-1"


def clients(endpoint: str, region: str = REGION):
    """The runner's own clients (moto accepts any credentials; never the developer's)."""
    session = boto3.session.Session(aws_access_key_id="local", aws_secret_access_key="local",
                                    region_name=region)
    s3 = session.client("s3", endpoint_url=endpoint,
                        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}))
    sqs = session.client("sqs", endpoint_url=endpoint)
    return s3, sqs


def create_bucket(s3, bucket: str, origins: list[str]) -> None:
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True,
        "BlockPublicPolicy": True, "RestrictPublicBuckets": True,
    })
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [cors_rule(origins)]})


def processor_runtime() -> ProcessorRuntime:
    """The deployed function's timeout and retries, from cdk.json as a plain synth reads them."""
    return ProcessorRuntime.of(from_cdk_json())


def create_queue(sqs, name: str = QUEUE) -> tuple[str, str]:
    """Returns (queue_url, queue_arn). Visibility = the deployed function timeout."""
    visibility = str(processor_runtime().timeout_seconds)
    url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": visibility})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def enable_notifications(s3, bucket: str, queue_arn: str) -> None:
    """s3:ObjectCreated:* under the uploads prefix -> the queue (S3 sends an s3:TestEvent first)."""
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "QueueConfigurations": [{
            "Id": "photo-processor",
            "QueueArn": queue_arn,
            "Events": [TRIGGER_EVENT],
            "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": TRIGGER_PREFIX}]}},
        }],
    })
