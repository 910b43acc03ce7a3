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
from .photo_storage import PROCESSED_PREFIX, UPLOADS_PREFIX, PhotoStorage

LAMBDA_SRC = Path(__file__).resolve().parent.parent / "lambda_src"
# The newest Python runtime aws-cdk-lib knows; the layer is built for it.
RUNTIME = _lambda.Runtime.PYTHON_3_14
ARCHITECTURE = _lambda.Architecture.ARM_64


class PhotoProcessor(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, storage: PhotoStorage, config: ClinicConfig) -> None:
        super().__init__(scope, construct_id)
        bucket = storage.bucket
        self.bucket = bucket

        self.layer = _lambda.LayerVersion(
            self,
            "PillowLayer",
            code=pillow_layer_code(LAMBDA_SRC / "requirements.txt", RUNTIME, ARCHITECTURE),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="Pillow and pillow-heif, pinned in lambda_src/requirements.txt, built with pip (no Docker)",
        )

        # Events that still fail after the retries land here with their payload,
        # so an operator can inspect and replay them (docs/operations.md).
        self.failures = sqs.Queue(
            self,
            "FailedEvents",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
            removal_policy=RemovalPolicy.DESTROY,
        )
        acknowledge(
            self.failures,
            "AwsSolutions-SQS3",
            "This queue is itself the on-failure destination (a dead-letter queue) of the photo "
            "processor; a dead-letter queue for it would have nothing to catch.",
        )

        self.log_group = logs.LogGroup(
            self,
            "Logs",
            retention=config.log_retention,
            removal_policy=RemovalPolicy.DESTROY,
        )

        # A role of our own instead of AWSLambdaBasicExecutionRole: logs go to
        # exactly one log group, and S3 access is split by prefix.
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Photo processor: read uploads/, write processed/, log to its own group",
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="WriteOwnLogs",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[f"{self.log_group.log_group_arn}"],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadOriginals",
                actions=["s3:GetObject"],  # GetObject also authorises HEAD
                resources=[bucket.arn_for_objects(f"{UPLOADS_PREFIX}*")],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="WriteRenditions",
                actions=["s3:PutObject"],
                resources=[bucket.arn_for_objects(f"{PROCESSED_PREFIX}*")],
            )
        )

        self.function = _lambda.Function(
            self,
            "Function",
            description="Turns uploads/<photo_id>/* into oriented, stripped renditions under processed/",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler="handler.handler",
            code=_lambda.Code.from_asset(
                str(LAMBDA_SRC),
                exclude=["requirements.txt", "__pycache__", "*.pyc", "README.md"],
            ),
            layers=[self.layer],
            memory_size=config.processor_memory_mb,
            timeout=Duration.seconds(config.processor_timeout_seconds),
            reserved_concurrent_executions=config.processor_reserved_concurrency,
            retry_attempts=config.processor_retry_attempts,
            max_event_age=Duration.hours(6),
            on_failure=destinations.SqsDestination(self.failures),
            recursive_loop=_lambda.RecursiveLoop.TERMINATE,
            log_group=self.log_group,
            logging_format=_lambda.LoggingFormat.JSON,
            role=self.role,
            environment={"POWERTOOLS_SERVICE_NAME": "photo-processor", "LOG_LEVEL": "INFO"},
        )

        # Only uploads/ triggers the processor, and it writes only processed/:
        # it cannot trigger itself (the recursive-loop setting is the backstop).
        bucket.add_event_notification(
            s3.EventType.OBJECT_CREATED,
            s3n.LambdaDestination(self.function),
            s3.NotificationKeyFilter(prefix=UPLOADS_PREFIX),
        )
        self._acknowledge_findings()

    def _acknowledge_findings(self) -> None:
        stack = Stack.of(self)
        policy = self.role.node.find_child("DefaultPolicy")
        bucket_id = stack.resolve(stack.get_logical_id(self.bucket.node.default_child))
        acknowledge(
            policy,
            f"AwsSolutions-IAM5[Resource::<{bucket_id}.Arn>/uploads/*]",
            "The processor must read any original under uploads/; the wildcard is scoped to that prefix "
            "and to GetObject only.",
        )
        acknowledge(
            policy,
            f"AwsSolutions-IAM5[Resource::<{bucket_id}.Arn>/processed/*]",
            "The processor writes renditions for any photo id under processed/; the wildcard is scoped "
            "to that prefix and to PutObject only (no delete).",
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
