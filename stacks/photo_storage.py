"""Photo storage: the private photo bucket and the bucket that receives its access logs."""

from __future__ import annotations

import json

from aws_cdk import Aws, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from .config import ClinicConfig
from .nag import acknowledge
from .naming import STATEFUL, photo_bucket_prefix, stack_unique_suffix

UPLOADS_PREFIX = "uploads/"
PROCESSED_PREFIX = "processed/"
BACKUPS_PREFIX = "backups/"


class PhotoStorage(Construct):
    """Versioned, encrypted, TLS-only photo bucket, retained when the stack goes away.

    The bucket's name is computed from the stack (name, account, region and a
    piece of the stack's own id), so IAM policies (the instance's, the
    processor's) can name its ARN without a CloudFormation reference to the
    bucket: that breaks the dependency cycle bucket CORS -> front door ->
    instance -> instance policy -> bucket. The stack-id piece means a bucket
    retained by an earlier stack never blocks a new one (stacks/naming.py).
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: ClinicConfig) -> None:
        super().__init__(scope, construct_id)
        self._name_prefix = photo_bucket_prefix(Stack.of(self).stack_name)
        self.bucket_name = f"{self._name_prefix}{Aws.ACCOUNT_ID}-{Aws.REGION}-{stack_unique_suffix()}"
        self.bucket_arn = f"arn:{Aws.PARTITION}:s3:::{self.bucket_name}"

        self.log_bucket = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,  # the only encryption S3 log delivery supports
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            # CloudFront standard logs are delivered with ACLs, so the owner must
            # be able to accept them (ACLs stay private: public access is blocked).
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            removal_policy=STATEFUL,
            lifecycle_rules=[
                s3.LifecycleRule(id="expire-access-logs", expiration=Duration.days(365)),
                s3.LifecycleRule(id="abort-incomplete-uploads", abort_incomplete_multipart_upload_after=Duration.days(7)),
            ],
        )
        acknowledge(
            self.log_bucket,
            "AwsSolutions-S1",
            "This is the access-log destination itself; logging it into itself would loop and a third "
            "bucket would only move the finding.",
        )

        self.bucket = s3.Bucket(
            self,
            "Photos",
            bucket_name=self.bucket_name,
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            versioned=True,
            removal_policy=STATEFUL,
            server_access_logs_bucket=self.log_bucket,
            server_access_logs_prefix="photos/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-noncurrent-versions",
                    noncurrent_version_expiration=Duration.days(config.noncurrent_version_days),
                ),
                s3.LifecycleRule(
                    id="abort-incomplete-uploads",
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                ),
                s3.LifecycleRule(
                    id="expire-database-backups",
                    prefix=BACKUPS_PREFIX,
                    expiration=Duration.days(config.db_backup_retention_days),
                ),
            ],
        )

    def allow_browser_uploads_from(self, origins: list[str]) -> None:
        """CORS for the presigned POST: only the app's own origin(s), only POST."""
        if not origins or any("*" in origin for origin in origins):
            raise ValueError("photo bucket CORS needs explicit origins, never '*'")
        self.bucket.add_cors_rule(
            allowed_methods=[s3.HttpMethods.POST],
            allowed_origins=origins,
            allowed_headers=["Content-Type"],
            max_age=3000,
        )

    def grant_app_photo_access(self, role: iam.IRole) -> None:
        """What the clinic app (single instance or every instance of mode ha) needs
        on the photo prefixes, defined once for both shapes. Presigned POSTs are
        signed with the role's credentials; HEAD (GetObject) confirms an upload;
        the deletion outbox lists and deletes a deleted photo's objects:
        DeleteObject only, which on this versioned bucket adds a delete marker (no
        DeleteObjectVersion, so nothing the app does destroys a version before the
        lifecycle rule)."""
        statements = [
            ("PresignAndConfirmUploads", ["s3:PutObject", "s3:GetObject"], [self.object_arn(UPLOADS_PREFIX)], None),
            ("ReadRenditions", ["s3:GetObject"], [self.object_arn(PROCESSED_PREFIX)], None),
            ("DeletePhotoObjects", ["s3:DeleteObject"],
             [self.object_arn(UPLOADS_PREFIX), self.object_arn(PROCESSED_PREFIX)], None),
            ("ListPhotoObjects", ["s3:ListBucket"], [self.bucket_arn],
             {"StringLike": {"s3:prefix": [f"{UPLOADS_PREFIX}*", f"{PROCESSED_PREFIX}*"]}}),
        ]
        for sid, actions, resources, conditions in statements:
            role.add_to_principal_policy(
                iam.PolicyStatement(sid=sid, actions=actions, resources=resources, conditions=conditions)
            )
        policy = role.node.find_child("DefaultPolicy")
        for prefix, why in (
            (UPLOADS_PREFIX, "presigns uploads to server-generated keys under uploads/, HEADs them to confirm "
                             "and deletes a deleted photo's original"),
            (PROCESSED_PREFIX, "reads any photo's renditions and manifest under processed/ and deletes a "
                               "deleted photo's objects"),
        ):
            acknowledge(policy, f"AwsSolutions-IAM5[Resource::{self.nag_object_arn(prefix)}]",
                        f"The clinic app {why}; the wildcard is that prefix only.")

    def object_arn(self, prefix: str) -> str:
        return f"{self.bucket_arn}/{prefix}*"

    def nag_object_arn(self, prefix: str) -> str:
        """object_arn() as cdk-nag spells it in a finding id (pseudo parameters as <AWS::…>,
        other intrinsics as compact JSON)."""
        suffix = json.dumps(Stack.of(self).resolve(stack_unique_suffix()), separators=(",", ":"))
        return f"arn:<AWS::Partition>:s3:::{self._name_prefix}<AWS::AccountId>-<AWS::Region>-{suffix}/{prefix}*"
