"""Clinic server: the EC2 instance, its encrypted data volume, the key and the snapshots."""

from __future__ import annotations

from aws_cdk import Aws, CfnCreationPolicy, CfnResourceSignal, Duration, Size, Stack
from aws_cdk import aws_backup as backup
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from . import bootstrap
from .app_release import release_asset
from .config import ClinicConfig
from .nag import acknowledge
from .naming import STATEFUL, stack_data_key, stack_unique_suffix, vault_name_prefix
from .network import Network
from .origin_access import (  # noqa: F401  (re-exported: tests and preflight import them here)
    CLOUDFRONT_PREFIX_LIST_NAME,
    CLOUDFRONT_PREFIX_LIST_WEIGHT,
    SG_INBOUND_RULES_QUOTA,
    admit_cloudfront_only,
)
from .photo_storage import BACKUPS_PREFIX, PhotoStorage

# Resolved by EC2 when the instance launches, not by CloudFormation on every
# deploy: a new AMI release must never replace the instance that holds the volume.
AL2023_ARM64_AMI = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"
DATA_DEVICE = "/dev/sdf"  # Nitro exposes it as /dev/nvmeXn1; the boot script finds it by volume id
DATA_MOUNT = "/data"
APP_PORT = 80  # nginx; CloudFront's VPC origin speaks HTTP inside the VPC

# Who may open APP_PORT: CloudFront's origin-facing servers (stacks/origin_access.py).
# nginx trusts X-Forwarded-For from every peer on APP_PORT, because the security
# group lets only CloudFront reach that port; it takes the LAST hop only (the
# one CloudFront appended), so a client-supplied header cannot choose the address.
ORIGIN_PEERS = ("0.0.0.0/0", "::/0")


class ClinicServer(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, network: Network, config: ClinicConfig) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        vpc = network.vpc
        subnet = vpc.isolated_subnets[0]
        self.subnet = subnet
        self.availability_zone = subnet.availability_zone

        self.data_key = stack_data_key(self)

        self.data_volume = ec2.Volume(
            self,
            "DataVolume",
            availability_zone=self.availability_zone,
            size=Size.gibibytes(config.data_volume_gib),
            volume_type=ec2.EbsDeviceVolumeType.GP3,
            iops=config.data_volume_iops,
            encrypted=True,
            encryption_key=self.data_key,
            removal_policy=STATEFUL,
            volume_name="clinic-data",  # a Name tag, not a unique physical name
        )

        self.security_group = ec2.SecurityGroup(
            self,
            "InstanceSg",
            vpc=vpc,
            description="Clinic server: HTTP only from CloudFront origin-facing servers (VPC origin); no SSH",
            # The subnet has no route to the internet; egress reaches only the
            # VPC endpoints and the S3 gateway endpoint.
            allow_all_outbound=True,
        )
        self._admit_cloudfront_only()

        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"),
            description="Clinic server instance role (least privilege, see stacks/clinic_server.py)",
        )
        self._allow_session_manager()

        self.user_data = ec2.UserData.for_linux()

        self.instance = ec2.Instance(
            self,
            "Instance",
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnets=[subnet]),
            instance_type=ec2.InstanceType(config.instance_type),
            machine_image=ec2.MachineImage.resolve_ssm_parameter_at_launch(AL2023_ARM64_AMI),
            security_group=self.security_group,
            role=self.role,
            user_data=self.user_data,
            user_data_causes_replacement=False,
            http_tokens=ec2.HttpTokens.REQUIRED,
            http_put_response_hop_limit=1,
            http_endpoint=True,
            detailed_monitoring=True,
            # No EC2 termination protection: it would block a failed first create's
            # rollback (ROLLBACK_FAILED). Stack termination protection guards instead.
            associate_public_ip_address=False,
            block_devices=[
                ec2.BlockDevice(
                    device_name="/dev/xvda",
                    volume=ec2.BlockDeviceVolume.ebs(
                        16, encrypted=True, volume_type=ec2.EbsDeviceVolumeType.GP3, delete_on_termination=True
                    ),
                )
            ],
            resource_signal_timeout=Duration.minutes(30),
        )
        # cfn-lint checks ImageId against ami-*; EC2 resolves 'resolve:ssm:' at launch.
        self.instance.node.default_child.add_metadata("cfn-lint", {"config": {"ignore_checks": ["E1152"]}})
        cfn_instance: ec2.CfnInstance = self.instance.node.default_child  # type: ignore[assignment]
        # Exactly one success signal, sent by user data after the bootstrap.
        cfn_instance.cfn_options.creation_policy = CfnCreationPolicy(
            resource_signal=CfnResourceSignal(count=1, timeout="PT30M")
        )
        # Attach the data volume at launch (Volumes property), not with a separate
        # VolumeAttachment: that resource would wait for the instance's creation
        # signal, which itself waits for the volume -- a deadlock.
        cfn_instance.volumes = [
            ec2.CfnInstance.VolumeProperty(device=DATA_DEVICE, volume_id=self.data_volume.volume_id)
        ]
        self.logical_id = Stack.of(self).resolve(Stack.of(self).get_logical_id(cfn_instance))
        bootstrap.write_user_data(self.user_data, self.logical_id)
        self.init_configs: dict[str, ec2.InitConfig] = {
            "prepare": bootstrap.prepare_volume_config(self, self.data_volume.volume_id, DATA_MOUNT),
            "hup": bootstrap.cfn_hup_config(self.logical_id),
        }
        self._snapshot_schedule()
        self._acknowledge_findings()

    def _admit_cloudfront_only(self) -> None:
        """APP_PORT from CloudFront's origin-facing prefix list, and from nothing else."""
        self.cloudfront_prefix_list_id = admit_cloudfront_only(self, self.security_group, APP_PORT)

    def install_app(self, *, storage: PhotoStorage, allowed_hosts: list[str], csrf_origins: list[str]) -> None:
        """Secrets, least-privilege access to the bucket, and the release installed by cfn-init."""
        self.secret_key = secretsmanager.Secret(
            self,
            "DjangoSecretKey",
            description="Django SECRET_KEY of the clinic app (read by the instance at install time)",
            generate_secret_string=secretsmanager.SecretStringGenerator(password_length=64, exclude_punctuation=True),
            removal_policy=STATEFUL,
        )
        self.admin_password = secretsmanager.Secret(
            self,
            "AdminPassword",
            description="Password of the first clinic administrator (user 'admin'); change it after first sign-in",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=20, exclude_characters="\"'\\`/@ ", require_each_included_type=True
            ),
            removal_policy=STATEFUL,
        )
        for secret, why in (
            (self.secret_key, "Rotating the Django key signs every user out and must be coordinated with a "
                              "re-run of the installer; docs/operations.md describes the manual rotation."),
            (self.admin_password, "A one-time first sign-in password: the administrator changes it in the app, "
                                  "after which the secret is no longer the live credential."),
        ):
            acknowledge(secret, "AwsSolutions-SMG4", why)

        self._grant_app_access(storage)
        release = release_asset(self, "AppRelease")
        release_dir = f"/opt/clinic/releases/{release.asset_hash}"
        command = " ".join(
            [
                # bash: no reliance on the zip keeping the execute bit.
                f"bash {release_dir}/install_clinic.sh",
                f"--release {release_dir}",
                f"--bucket {storage.bucket_name}",
                f"--region {Aws.REGION}",
                f"--allowed-hosts {','.join(allowed_hosts)}",
                *([f"--csrf-origins {','.join(csrf_origins)}"] if csrf_origins else []),
                f"--secret-key-secret-id {self.secret_key.secret_arn}",
                f"--admin-secret-id {self.admin_password.secret_arn}",
                f"--reason-file {bootstrap.REASON_FILE}",
                # The viewer's address is the hop CloudFront appends to X-Forwarded-For.
                f"--trusted-proxy-cidr {','.join(ORIGIN_PEERS)}",
            ]
        )
        self.init_configs["install"] = ec2.InitConfig(
            [
                ec2.InitSource.from_existing_asset(release_dir, release),
                # Installs, migrates (after a backup), and returns only once
                # /healthz answers 200 through nginx: the signal follows it.
                ec2.InitCommand.shell_command(command, key="10-install-clinic"),
            ]
        )

    def _grant_app_access(self, storage: PhotoStorage) -> None:
        """Exactly what the app needs on the bucket, by prefix: the photo prefixes
        as every shape of the app needs them (PhotoStorage.grant_app_photo_access),
        plus this instance's own database backups."""
        storage.grant_app_photo_access(self.role)
        statements = [
            ("DatabaseBackups", ["s3:PutObject", "s3:GetObject"], [storage.object_arn(BACKUPS_PREFIX)], None),
            ("ListOwnBackups", ["s3:ListBucket"], [storage.bucket_arn], {"StringLike": {"s3:prefix": [f"{BACKUPS_PREFIX}*"]}}),
            ("ReadAppSecrets", ["secretsmanager:GetSecretValue"], [self.secret_key.secret_arn, self.admin_password.secret_arn], None),
        ]
        for sid, actions, resources, conditions in statements:
            self.role.add_to_policy(iam.PolicyStatement(sid=sid, actions=actions, resources=resources, conditions=conditions))
        acknowledge(
            self.role.node.find_child("DefaultPolicy"),
            f"AwsSolutions-IAM5[Resource::{storage.nag_object_arn(BACKUPS_PREFIX)}]",
            "The clinic app writes and reads its own database backups under backups/ (ListBucket is limited to "
            "that prefix too); the wildcard is that prefix only.",
        )

    def finish_bootstrap(self) -> None:
        """Attach the cfn-init metadata once every concern has added its config."""
        init = ec2.CloudFormationInit.from_config_sets(
            config_sets={bootstrap.CONFIG_SET: list(self.init_configs)},
            configs=self.init_configs,
        )
        bootstrap.attach(init, self.instance, self.role)
        # cfn-init downloads scripts and the app release from the CDK assets
        # bucket; CDK's grant for that is read-only but uses wildcard actions.
        assets = "arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>"
        reason = (
            "cfn-init on the instance downloads the bootstrap scripts and the app release from the CDK "
            "bootstrap assets bucket; CDK's read-only asset grant (GetObject*, GetBucket*, List*) is limited "
            "to that bucket."
        )
        policy = self.role.node.find_child("DefaultPolicy")
        for finding in (
            "Action::s3:GetBucket*",
            "Action::s3:GetObject*",
            "Action::s3:List*",
            f"Resource::{assets}/*",
        ):
            acknowledge(policy, f"AwsSolutions-IAM5[{finding}]", reason)

    def _acknowledge_findings(self) -> None:
        acknowledge(
            self.role.node.find_child("DefaultPolicy"),
            "AwsSolutions-IAM5[Resource::*]",
            "Session Manager's ssm:UpdateInstanceInformation, ssmmessages:* channel and ec2messages:* "
            "actions support no resource-level permissions (AWS service authorization reference); they "
            "replace SSH and are the only wildcard-resource actions of this role.",
        )
        role = self.backup_plan.node.find_child("DataVolume").node.find_child("Role")
        for policy in ("AWSBackupServiceRolePolicyForBackup", "AWSBackupServiceRolePolicyForRestores"):
            acknowledge(
                role,
                f"AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/{policy}]",
                "AWS Backup's own service-role policy, maintained by AWS for the snapshot and restore "
                "calls the service makes; the role is assumable only by backup.amazonaws.com.",
            )
        acknowledge(
            self.instance,
            "AwsSolutions-EC29",
            "Deliberately no EC2 API termination protection: it blocks the rollback of a failed first create "
            "(ROLLBACK_FAILED). The stack has CloudFormation termination protection instead (cdk.json "
            "clinic.termination_protection, on by default; docs/deploy.md shows how to lift it).",
        )
        acknowledge(
            self.instance,
            "CloudFormation-Validate::E1152",
            "ImageId 'resolve:ssm:<public AL2023 parameter>' is resolved by EC2 at launch (documented for "
            "RunInstances), so a new AMI release never replaces the instance that holds the data volume.",
        )

    def _allow_session_manager(self) -> None:
        # The three channels Session Manager needs, instead of the broad
        # AmazonSSMManagedInstanceCore managed policy (which also grants Parameter Store reads).
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="SessionManager",
                actions=[
                    "ssm:UpdateInstanceInformation",
                    "ssmmessages:CreateControlChannel",
                    "ssmmessages:CreateDataChannel",
                    "ssmmessages:OpenControlChannel",
                    "ssmmessages:OpenDataChannel",
                    "ec2messages:AcknowledgeMessage",
                    "ec2messages:DeleteMessage",
                    "ec2messages:FailMessage",
                    "ec2messages:GetEndpoint",
                    "ec2messages:GetMessages",
                    "ec2messages:SendReply",
                ],
                resources=["*"],
            )
        )

    def _snapshot_schedule(self) -> None:
        vault = backup.BackupVault(
            self,
            "SnapshotVault",
            encryption_key=self.data_key,
            # A vault name is required and unique per account and region: end it
            # with this stack's id so a vault retained by an earlier stack never
            # blocks a new one.
            backup_vault_name=f"{vault_name_prefix(Stack.of(self).stack_name)}{stack_unique_suffix()}",
            removal_policy=STATEFUL,
        )
        plan = backup.BackupPlan(self, "SnapshotPlan", backup_vault=vault)
        plan.add_rule(
            backup.BackupPlanRule(
                rule_name="daily-data-volume",
                # 06:00 UTC = 03:00 in São Paulo, when the clinic is closed.
                schedule_expression=events.Schedule.cron(hour="6", minute="0"),
                start_window=Duration.hours(1),
                completion_window=Duration.hours(4),
                delete_after=Duration.days(self.config.snapshot_retention_days),
            )
        )
        volume_arn = f"arn:{Aws.PARTITION}:ec2:{Aws.REGION}:{Aws.ACCOUNT_ID}:volume/{self.data_volume.volume_id}"
        plan.add_selection(
            "DataVolume",
            resources=[backup.BackupResource.from_arn(volume_arn)],
            allow_restores=True,
        )
        self.backup_plan = plan
        self.backup_vault = vault

    @property
    def session_manager_command(self) -> str:
        return f"aws ssm start-session --target {self.instance.instance_id} --region {Aws.REGION}"

