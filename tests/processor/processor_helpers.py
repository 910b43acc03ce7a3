"""S3 event and bucket helpers for the processor tests."""

import json
from urllib.parse import quote_plus

BUCKET = "clinic-photos-test"


def s3_event(*keys, bucket=BUCKET, event_name="ObjectCreated:Put"):
    """A standard S3 notification; keys are URL-encoded as S3 sends them."""
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventTime": "2026-11-28T12:00:00.000Z",
                "eventName": event_name,
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "photo-uploads",
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": {"key": quote_plus(key, safe="/"), "size": 0,
                               "eTag": "0", "sequencer": "0"},
                },
            }
            for key in keys
        ]
    }


def get_manifest(client, photo_id):
    obj = client.get_object(Bucket=BUCKET, Key=f"processed/{photo_id}/manifest.json")
    return json.loads(obj["Body"].read())


def all_objects(client, prefix=""):
    """{key: bytes} for everything under prefix."""
    out = {}
    resp = client.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    for item in resp.get("Contents", []):
        out[item["Key"]] = client.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()
    return out
