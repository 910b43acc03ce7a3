"""The local stand-in for Lambda's S3 trigger: long-poll the SQS queue that
the bucket notifies, and call the deployed ``lambda_src/handler.handler`` with
each S3 event exactly as S3 sent it.

Like Lambda's asynchronous invocation: an exception means "retry" (the message
comes back after a few seconds), and after the deployed function's attempts
(1 + cdk.json's processor_retry_attempts, stacks/photo_pipeline.py) it is
dropped with a log line (where AWS would send it to the on-failure destination).

Run as ``python -m local.worker --queue-url URL`` with AWS_ENDPOINT_URL set.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import uuid
from pathlib import Path
from types import SimpleNamespace

from lambda_src import s3_event

REPO = Path(__file__).resolve().parent.parent
RETRY_DELAY_SECONDS = 5  # Lambda waits minutes between async retries; the local run need not

log = logging.getLogger("local.worker")


def load_handler():
    """The deployed module itself. It imports its siblings as top-level modules, as in
    Lambda, whose runtime has the asset root on the path: local/env.py worker_env puts
    lambda_src on the worker's PYTHONPATH the same way (pytest.ini does for tests)."""
    import handler

    return handler.handler


# The S3 event in an SQS message body (None for S3's test event and junk): the same
# parsing as the handler's (lambda_src/s3_event.py, standard library only).
event_of = s3_event.from_message_body


def max_attempts() -> int:
    from local.bucket import processor_runtime

    return processor_runtime().max_attempts


def handle_message(message: dict, handler_fn, sqs, queue_url: str, attempts_allowed: int | None = None) -> str:
    """Process one SQS message; returns 'done', 'ignored', 'retry' or 'dropped'."""
    attempts_allowed = attempts_allowed or max_attempts()
    receipt = message["ReceiptHandle"]
    event = event_of(message.get("Body", ""))
    if event is None:
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=receipt)
        return "ignored"
    context = SimpleNamespace(aws_request_id=message.get("MessageId") or str(uuid.uuid4()),
                              function_name="photo-processor-local")
    try:
        summary = handler_fn(event, context)
    except Exception:
        attempts = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
        if attempts >= attempts_allowed:
            log.exception("handler failed %d times; dropping the event", attempts)
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=receipt)
            return "dropped"
        log.exception("handler failed (attempt %d); retrying in %d s", attempts, RETRY_DELAY_SECONDS)
        sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=receipt,
                                      VisibilityTimeout=RETRY_DELAY_SECONDS)
        return "retry"
    keys = [obj.key for obj in s3_event.objects(event)]
    log.info("processed %s -> %s", ", ".join(map(str, keys)), summary)
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=receipt)
    return "done"


def poll(sqs, queue_url: str, handler_fn, stop: threading.Event, wait_seconds: int = 1) -> None:
    attempts_allowed = max_attempts()
    while not stop.is_set():
        try:
            response = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                           WaitTimeSeconds=wait_seconds,
                                           AttributeNames=["ApproximateReceiveCount"])
        except Exception as err:  # moto going away at shutdown, or a hiccup
            if stop.wait(1):
                return
            log.warning("receive failed: %s", err)
            continue
        for message in response.get("Messages", []):
            handle_message(message, handler_fn, sqs, queue_url, attempts_allowed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queue-url", required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    import boto3

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    handler_fn = load_handler()
    sqs = boto3.client("sqs")  # AWS_ENDPOINT_URL points it (and the handler's S3 client) at moto
    log.info("polling %s", args.queue_url)
    poll(sqs, args.queue_url, handler_fn, stop)
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
