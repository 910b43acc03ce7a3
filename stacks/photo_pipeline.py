"""The photo pipeline's shape, defined once for AWS (stacks/photo_storage.py,
stacks/photo_processor.py) and for the local run (local/bucket.py,
local/worker.py): the bucket's CORS rule, the trigger's event and prefix, and
the processor's timeout and retry count.

No aws_cdk import here (nor in stacks/config.py at import time): local/ imports
this module on a machine where only the app's and the processor's packages
matter. The local run reads the same cdk.json as the stack
(``config.from_cdk_json``), so a timeout changed there changes both.
"""

from __future__ import annotations

from dataclasses import dataclass

from lambda_src.photo_contract import UPLOADS_PREFIX

from .config import ClinicConfig

# CORS for the browser's presigned POST: only the app's own origin(s), only POST.
CORS_METHODS = ("POST",)
CORS_ALLOWED_HEADERS = ("Content-Type",)
CORS_MAX_AGE_SECONDS = 3000

# What triggers the processor: every object created under the uploads prefix.
TRIGGER_EVENT = "s3:ObjectCreated:*"
TRIGGER_PREFIX = UPLOADS_PREFIX


def checked_origins(origins: list[str]) -> list[str]:
    if not origins or any("*" in origin for origin in origins):
        raise ValueError("photo bucket CORS needs explicit origins, never '*'")
    return list(origins)


def cors_rule(origins: list[str]) -> dict:
    """The rule in the S3 API's shape (PutBucketCors), as the local bucket applies it."""
    return {
        "AllowedMethods": list(CORS_METHODS),
        "AllowedOrigins": checked_origins(origins),
        "AllowedHeaders": list(CORS_ALLOWED_HEADERS),
        "MaxAgeSeconds": CORS_MAX_AGE_SECONDS,
    }


@dataclass(frozen=True)
class ProcessorRuntime:
    """How long one invocation may run and how often a failed event is retried."""

    timeout_seconds: int
    retry_attempts: int  # Lambda's asynchronous retries after the first attempt (0-2)

    @property
    def max_attempts(self) -> int:
        return 1 + self.retry_attempts

    @classmethod
    def of(cls, config: ClinicConfig) -> ProcessorRuntime:
        return cls(timeout_seconds=config.processor_timeout_seconds, retry_attempts=config.processor_retry_attempts)
