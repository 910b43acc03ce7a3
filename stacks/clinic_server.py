"""Clinic server (mode single), split by concern; each piece takes all its inputs when built:

* ``ServerData``: the stack's key, the encrypted EBS data volume and its daily
  snapshots (AWS Backup vault and plan);
* ``AppSecrets``: the Django secret key and the first administrator's password
  (mode ha's AppFleet builds the same pair);
* ``ServerInstance``: the instance, its security group and role, its grants and
  its bootstrap (user data + cfn-init: prepare the volume, cfn-hup, install the
  release with stacks/installer.py's arguments).

``ClinicServer`` only composes them. The pieces create their resources directly
in the scope they are given (ClinicServer's), not in a child construct of their
own: the construct paths, hence the logical ids of the stateful resources (the
volume, the key, the vault, the secrets, the instance), are exactly those
deployed before the split (tests/infra/test_logical_ids.py, the snapshots).
Each can be built alone in a bare Stack (tests/infra/test_server_pieces.py).
"""

from __future__ import annotations

from aws_cdk import Aws, CfnCreationPolicy, CfnResourceSignal, Duration, Size, Stack
from aws_cdk import aws_backup as backup
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from . import bootstrap
from .app_release import release_asset
from .backup_schedule import daily_rule
from .config import ClinicConfig
from .installer import APP_PORT, InstallerArgs
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

__all__ = ["APP_PORT", "DATA_MOUNT", "ORIGIN_PEERS", "AppSecrets", "ClinicServer", "ServerData", "ServerInstance"]

# Resolved by EC2 when the instance launches, not by CloudFormation on every
# deploy: a new AMI release must never replace the instance that holds the volume.
AL2023_ARM64_AMI = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"
DATA_DEVICE = "/dev/sdf"  # Nitro exposes it as /dev/nvmeXn1; the boot script finds it by volume id
DATA_MOUNT = "/data"

# Who may open APP_PORT: CloudFront's origin-facing servers (stacks/origin_access.py).
# nginx trusts X-Forwarded-For from every peer on APP_PORT, because the security
# group lets only CloudFront reach that port; it takes the LAST hop only (the
# one CloudFront appended), so a client-supplied header cannot choose the address.
ORIGIN_PEERS = ("0.0.0.0/0", "::/0")


class ServerData:
    """The stack's key, the encrypted data volume and its daily snapshots, in ``scope``."""

    def __init__(self, scope: Construct, *, availability_zone: str, config: ClinicConfig) -> None:
        self.key = stack_data_key(scope)
        self.volume = ec2.Volume(
            scope,
            "DataVolume",
            availability_zone=availability_zone,
            size=Size.gibibytes(config.data_volume_gib),
            volume_type=ec2.EbsDeviceVolumeType.GP3,
            iops=config.data_volume_iops,
            encrypted=True,
            encryption_key=self.key,
            removal_policy=STATEFUL,
            volume_name="clinic-data",  # a Name tag, not a unique physical name
        )
        self.vault = backup.BackupVault(
            scope,
            "SnapshotVault",
            encryption_key=self.key,
            # A vault name is required and unique per account and region: end it
            # with this stack's id so a vault retained by an earlier stack never
            # blocks a new one.
            backup_vault_name=f"{vault_name_prefix(Stack.of(scope).stack_name)}{stack_unique_suffix()}",
            removal_policy=STATEFUL,
        )
        self.plan = backup.BackupPlan(scope, "SnapshotPlan", backup_vault=self.vault)
        self.plan.add_rule(
            daily_rule("daily-data-volume", config.snapshot_retention_days)
        )
        volume_arn = f"arn:{Aws.PARTITION}:ec2:{Aws.REGION}:{Aws.ACCOUNT_ID}:volume/{self.volume.volume_id}"
        self.plan.add_selection(
            "DataVolume",
            resources=[backup.BackupResource.from_arn(volume_arn)],
            allow_restores=True,
        )
        role = self.plan.node.find_child("DataVolume").node.find_child("Role")
        for policy in ("AWSBackupServiceRolePolicyForBackup", "AWSBackupServiceRolePolicyForRestores"):
            acknowledge(
                role,
                f"AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/{policy}]",
                "AWS Backup's own service-role policy, maintained by AWS for the snapshot and restore "
                "calls the service makes; the role is assumable only by backup.amazonaws.com.",
            )


class AppSecrets:
    """The Django secret key and the first administrator's password, in ``scope``.

    ``readers`` and ``rotation`` only word the descriptions (one instance or a fleet);
    mode ha encrypts them with the stack's key."""

    def __init__(self, scope: Construct, *, readers: str = "the instance", rotation: str = "",
                 encryption_key: kms.IKey | None = None) -> None:
        self.secret_key = secretsmanager.Secret(
            scope,
            "DjangoSecretKey",
            description=f"Django SECRET_KEY of the clinic app (read by {readers} at install time)",
            generate_secret_string=secretsmanager.SecretStringGenerator(password_length=64, exclude_punctuation=True),
            encryption_key=encryption_key,
            removal_policy=STATEFUL,
        )
        self.admin_password = secretsmanager.Secret(
            scope,
            "AdminPassword",
            description="Password of the first clinic administrator (user 'admin'); change it after first sign-in",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=20, exclude_characters="\"'\\`/@ ", require_each_included_type=True
            ),
            encryption_key=encryption_key,
            removal_policy=STATEFUL,
        )
        for secret, why in (
            (self.secret_key, "Rotating the Django key signs every user out and must be coordinated with a "
                              f"re-run of the installer{rotation}; docs/operations.md describes the manual rotation."),
            (self.admin_password, "A one-time first sign-in password: the administrator changes it in the app, "
                                  "after which the secret is no longer the live credential."),
        ):
            acknowledge(secret, "AwsSolutions-SMG4", why)

    @property
    def arns(self) -> list[str]:
        return [self.secret_key.secret_arn, self.admin_password.secret_arn]


class ServerInstance:
    """The instance in ``scope``: security group, role and grants, the data volume attached
    at launch, and its whole bootstrap (user data, cfn-init: prepare, cfn-hup, install)."""

    def __init__(
        self,
        scope: Construct,
        *,
        vpc: ec2.IVpc,
        subnet: ec2.ISubnet,
        data: ServerData,
        secrets: AppSecrets,
        storage: PhotoStorage,
        allowed_hosts: list[str],
        csrf_origins: list[str],
        config: ClinicConfig,
    ) -> None:
        self.security_group = ec2.SecurityGroup(
            scope,
            "InstanceSg",
            vpc=vpc,
            description="Clinic server: HTTP only from CloudFront origin-facing servers (VPC origin); no SSH",
            # The subnet has no route to the internet; egress reaches only the
            # VPC endpoints and the S3 gateway endpoint.
            allow_all_outbound=True,
        )
        # APP_PORT from CloudFront's origin-facing prefix list, and from nothing else.
        self.cloudfront_prefix_list_id = admit_cloudfront_only(scope, self.security_group, APP_PORT)
        self.role = iam.Role(
            scope,
            "Role",
            assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"),
            description="Clinic server instance role (least privilege, see stacks/clinic_server.py)",
        )
        _allow_session_manager(self.role)
        self.user_data = ec2.UserData.for_linux()
        self.instance = self._instance(scope, vpc, subnet, data.volume, config)
        self._acknowledge_instance_findings()

        self.logical_id = Stack.of(scope).resolve(Stack.of(scope).get_logical_id(self.instance.node.default_child))
        bootstrap.write_user_data(self.user_data, self.logical_id)
        init_configs: dict[str, ec2.InitConfig] = {
            "prepare": bootstrap.prepare_volume_config(scope, data.volume.volume_id, DATA_MOUNT),
            "hup": bootstrap.cfn_hup_config(self.logical_id),
        }
        self._grant_app_access(storage, secrets)
        init_configs["install"] = self._install_config(scope, storage, secrets, allowed_hosts, csrf_origins)
        self._attach_bootstrap(init_configs)

    def _instance(self, scope, vpc, subnet, volume: ec2.Volume, config: ClinicConfig) -> ec2.Instance:
        instance = ec2.Instance(
            scope,
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
        instance.node.default_child.add_metadata("cfn-lint", {"config": {"ignore_checks": ["E1152"]}})
        cfn_instance: ec2.CfnInstance = instance.node.default_child  # type: ignore[assignment]
        # Exactly one success signal, sent by user data after the bootstrap.
        cfn_instance.cfn_options.creation_policy = CfnCreationPolicy(
            resource_signal=CfnResourceSignal(count=1, timeout="PT30M")
        )
        # Attach the data volume at launch (Volumes property), not with a separate
        # VolumeAttachment: that resource would wait for the instance's creation
        # signal, which itself waits for the volume -- a deadlock.
        cfn_instance.volumes = [ec2.CfnInstance.VolumeProperty(device=DATA_DEVICE, volume_id=volume.volume_id)]
        return instance

    def _grant_app_access(self, storage: PhotoStorage, secrets: AppSecrets) -> None:
        """Exactly what the app needs on the bucket, by prefix: the photo prefixes
        as every shape of the app needs them (PhotoStorage.grant_app_photo_access),
        plus this instance's own database backups and its two secrets."""
        storage.grant_app_photo_access(self.role)
        statements = [
            ("DatabaseBackups", ["s3:PutObject", "s3:GetObject"], [storage.object_arn(BACKUPS_PREFIX)], None),
            ("ListOwnBackups", ["s3:ListBucket"], [storage.bucket_arn], {"StringLike": {"s3:prefix": [f"{BACKUPS_PREFIX}*"]}}),
            ("ReadAppSecrets", ["secretsmanager:GetSecretValue"], secrets.arns, None),
        ]
        for sid, actions, resources, conditions in statements:
            self.role.add_to_policy(iam.PolicyStatement(sid=sid, actions=actions, resources=resources, conditions=conditions))
        acknowledge(
            self.role.node.find_child("DefaultPolicy"),
            f"AwsSolutions-IAM5[Resource::{storage.nag_object_arn(BACKUPS_PREFIX)}]",
            f"The clinic app writes and reads its own database backups under {BACKUPS_PREFIX} (ListBucket is "
            "limited to that prefix too); the wildcard is that prefix only.",
        )

    def _install_config(self, scope, storage: PhotoStorage, secrets: AppSecrets, allowed_hosts: list[str],
                        csrf_origins: list[str]) -> ec2.InitConfig:
        """The release, installed by cfn-init with every value passed explicitly."""
        release = release_asset(scope, "AppRelease")
        args = InstallerArgs(
            release_hash=release.asset_hash,
            data_dir=DATA_MOUNT,
            bucket=storage.bucket_name,
            region=Aws.REGION,
            allowed_hosts=allowed_hosts,
            csrf_origins=csrf_origins,
            secret_key_arn=secrets.secret_key.secret_arn,
            admin_secret_arn=secrets.admin_password.secret_arn,
            trusted_proxies=ORIGIN_PEERS,
        )
        return ec2.InitConfig(
            [
                ec2.InitSource.from_existing_asset(args.release_dir, release),
                # Installs, migrates (after a backup), and returns only once
                # /healthz answers 200 through nginx: the signal follows it.
                ec2.InitCommand.shell_command(args.command(), key="10-install-clinic"),
            ]
        )

    def _attach_bootstrap(self, init_configs: dict[str, ec2.InitConfig]) -> None:
        """Attach the cfn-init metadata (every config is known by now)."""
        init = ec2.CloudFormationInit.from_config_sets(
            config_sets={bootstrap.CONFIG_SET: list(init_configs)},
            configs=init_configs,
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

    def _acknowledge_instance_findings(self) -> None:
        acknowledge(
            self.role.node.find_child("DefaultPolicy"),
            "AwsSolutions-IAM5[Resource::*]",
            "Session Manager's ssm:UpdateInstanceInformation, ssmmessages:* channel and ec2messages:* "
            "actions support no resource-level permissions (AWS service authorization reference); they "
            "replace SSH and are the only wildcard-resource actions of this role.",
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


def _allow_session_manager(role: iam.Role) -> None:
    # The three channels Session Manager needs, instead of the broad
    # AmazonSSMManagedInstanceCore managed policy (which also grants Parameter Store reads).
    role.add_to_policy(
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


class ClinicServer(Construct):
    """Mode single's server, whole when built: data, secrets, and the instance."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        network: Network,
        storage: PhotoStorage,
        allowed_hosts: list[str],
        csrf_origins: list[str],
        config: ClinicConfig,
    ) -> None:
        super().__init__(scope, construct_id)
        self.subnet = network.vpc.isolated_subnets[0]
        self.availability_zone = self.subnet.availability_zone
        self.data = ServerData(self, availability_zone=self.availability_zone, config=config)
        self.secrets = AppSecrets(self)
        self.server = ServerInstance(
            self,
            vpc=network.vpc,
            subnet=self.subnet,
            data=self.data,
            secrets=self.secrets,
            storage=storage,
            allowed_hosts=allowed_hosts,
            csrf_origins=csrf_origins,
            config=config,
        )
        # What the stack and its outputs read.
        self.instance = self.server.instance
        self.role = self.server.role
        self.security_group = self.server.security_group
        self.data_volume = self.data.volume
        self.data_key = self.data.key
        self.admin_password = self.secrets.admin_password

    @property
    def session_manager_command(self) -> str:
        return f"aws ssm start-session --target {self.instance.instance_id} --region {Aws.REGION}"
