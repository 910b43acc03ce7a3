"""Photo processor: the Pillow Lambda, its layer, its failure queue and the S3 trigger."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as _lambda
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from .config import ClinicConfig
from .layer_bundling import pillow_layer_code
from .nag import acknowledge
from .photo_pipeline import TRIGGER_EVENT, TRIGGER_PREFIX, ProcessorRuntime
from .photo_storage import PROCESSED_PREFIX, UPLOADS_PREFIX, PhotoStorage

LAMBDA_SRC = Path(__file__).resolve().parent.parent / "lambda_src"
# The newest Python runtime aws-cdk-lib knows; the layer is built for it.
RUNTIME = _lambda.Runtime.PYTHON_3_14
ARCHITECTURE = _lambda.Architecture.ARM_64


class PhotoProcessor(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, storage: PhotoStorage, config: ClinicConfig) -> None:
        super().__init__(scope, construct_id)
        self.bucket = storage.bucket
        self.layer = self._pillow_layer()
        self.failures = self._failure_queue()
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            retention=config.log_retention,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.role = self._role()
        self.function = self._function(config)
        # Only the uploads prefix triggers the processor, and it writes only the processed one:
        # it cannot trigger itself (the recursive-loop setting is the backstop).
        self.bucket.add_event_notification(
            {"s3:ObjectCreated:*": s3.EventType.OBJECT_CREATED}[TRIGGER_EVENT],
            s3n.LambdaDestination(self.function),
            s3.NotificationKeyFilter(prefix=TRIGGER_PREFIX),
        )
        self._acknowledge_findings()

    def _pillow_layer(self) -> _lambda.LayerVersion:
        return _lambda.LayerVersion(
            self,
            "PillowLayer",
            code=pillow_layer_code(LAMBDA_SRC / "requirements.txt", RUNTIME, ARCHITECTURE),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="Pillow and pillow-heif, pinned in lambda_src/requirements.txt, built with pip (no Docker)",
        )

    def _failure_queue(self) -> sqs.Queue:
        """Events that still fail after the retries land here with their payload,
        so an operator can inspect and replay them (docs/operations.md)."""
        queue = sqs.Queue(
            self,
            "FailedEvents",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
            removal_policy=RemovalPolicy.DESTROY,
        )
        acknowledge(
            queue,
            "AwsSolutions-SQS3",
            "This queue is itself the on-failure destination (a dead-letter queue) of the photo "
            "processor; a dead-letter queue for it would have nothing to catch.",
        )
        return queue

    def _role(self) -> iam.Role:
        """A role of our own instead of AWSLambdaBasicExecutionRole: logs go to
        exactly one log group, and S3 access is split by prefix."""
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Photo processor: read {UPLOADS_PREFIX}, write {PROCESSED_PREFIX}, log to its own group",
        )
        for sid, actions, resources in (
            ("WriteOwnLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], [f"{self.log_group.log_group_arn}"]),
            # GetObject also authorises HEAD
            ("ReadOriginals", ["s3:GetObject"], [self.bucket.arn_for_objects(f"{UPLOADS_PREFIX}*")]),
            ("WriteRenditions", ["s3:PutObject"], [self.bucket.arn_for_objects(f"{PROCESSED_PREFIX}*")]),
        ):
            role.add_to_policy(iam.PolicyStatement(sid=sid, actions=actions, resources=resources))
        return role

    def _function(self, config: ClinicConfig) -> _lambda.Function:
        runtime = ProcessorRuntime.of(config)  # the local worker uses the same (local/bucket.py)
        return _lambda.Function(
            self,
            "Function",
            description=f"Turns {UPLOADS_PREFIX}<photo_id>/* into oriented, stripped renditions under "
                        f"{PROCESSED_PREFIX}",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler="handler.handler",
            code=_lambda.Code.from_asset(
                str(LAMBDA_SRC),
                exclude=["requirements.txt", "__pycache__", "*.pyc", "README.md"],
            ),
            layers=[self.layer],
            memory_size=config.processor_memory_mb,
            timeout=Duration.seconds(runtime.timeout_seconds),
            reserved_concurrent_executions=config.processor_reserved_concurrency,
            retry_attempts=runtime.retry_attempts,
            max_event_age=Duration.hours(6),
            on_failure=destinations.SqsDestination(self.failures),
            recursive_loop=_lambda.RecursiveLoop.TERMINATE,
            log_group=self.log_group,
            logging_format=_lambda.LoggingFormat.JSON,
            role=self.role,
            environment={"LOG_LEVEL": "INFO"},  # the service name is handler.SERVICE (no Powertools here)
        )

    def _acknowledge_findings(self) -> None:
        stack = Stack.of(self)
        policy = self.role.node.find_child("DefaultPolicy")
        bucket_id = stack.resolve(stack.get_logical_id(self.bucket.node.default_child))
        acknowledge(
            policy,
            f"AwsSolutions-IAM5[Resource::<{bucket_id}.Arn>/{UPLOADS_PREFIX}*]",
            f"The processor must read any original under {UPLOADS_PREFIX}; the wildcard is scoped to that "
            "prefix and to GetObject only.",
        )
        acknowledge(
            policy,
            f"AwsSolutions-IAM5[Resource::<{bucket_id}.Arn>/{PROCESSED_PREFIX}*]",
            f"The processor writes renditions for any photo id under {PROCESSED_PREFIX}; the wildcard is "
            "scoped to that prefix and to PutObject only (no delete).",
        )
        # The bucket-notification custom resource that CDK adds to the stack.
        handler = stack.node.try_find_child("BucketNotificationsHandler050a0587b7544547bf325f094a3db834")
        if handler is not None:
            acknowledge(
                handler,
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
                "CDK's built-in bucket-notification custom resource runs only during deploys to set the "
                "S3 trigger; its role is created by aws-cdk-lib and only writes its own logs.",
            )
            acknowledge(
                handler,
                "AwsSolutions-IAM5[Resource::*]",
                "s3:PutBucketNotification has no resource-level scoping that CDK's built-in custom "
                "resource uses; it runs only during deploys to configure this stack's bucket.",
            )
