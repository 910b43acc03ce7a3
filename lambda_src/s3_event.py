"""S3 event notifications, parsed once for the Lambda handler (handler.py) and the
local worker (local/worker.py, which receives them through SQS). Standard library only.

Keys in S3 events are URL-encoded (spaces as '+'): ``S3Object.key`` is decoded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import unquote_plus

TEST_EVENT = "s3:TestEvent"  # what S3 sends to a queue when a notification is configured


@dataclass(frozen=True)
class S3Object:
    event_name: str
    bucket: str | None
    key: str

    @property
    def created(self) -> bool:
        return self.event_name.startswith("ObjectCreated")


def objects(event) -> list[S3Object]:
    """One S3Object per record of an S3 event (missing parts become empty)."""
    out = []
    for record in (event or {}).get("Records", []) or []:
        s3_info = record.get("s3", {}) if isinstance(record, dict) else {}
        out.append(S3Object(
            event_name=str(record.get("eventName", "ObjectCreated:Put")) if isinstance(record, dict) else "",
            bucket=s3_info.get("bucket", {}).get("name"),
            key=unquote_plus(s3_info.get("object", {}).get("key", "") or ""),
        ))
    return out


def from_message_body(body: str) -> dict | None:
    """The S3 event in an SQS message body, or None for S3's test event and junk."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("Event") == TEST_EVENT:
        return None
    records = data.get("Records")
    if not isinstance(records, list) or not records:
        return None
    return data
