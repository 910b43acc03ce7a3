"""Mode ha: the clinic's database on Amazon RDS for PostgreSQL, Multi-AZ.

One primary and a synchronous standby in the other zone (RDS fails over by
itself, the endpoint's DNS name stays). Encrypted with the stack's customer
managed key; the master credentials live in Secrets Manager and rotate every
30 days (a rotation Lambda in the isolated subnets, reaching Secrets Manager
through its interface endpoint); reachable only from the app instances'
security group. Backups: RDS automated backups (point-in-time recovery) and a
daily AWS Backup snapshot into a vault encrypted with the same key.
docs/decisions.md, "High-availability mode", argues RDS Multi-AZ against
Aurora Serverless v2 with prices.
"""

from __future__ import annotations

from aws_cdk import Aws, Duration, Stack
from aws_cdk import aws_backup as backup
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_rds as rds
from constructs import Construct

from .backup_schedule import daily_rule
from .config import ClinicConfig
from .nag import acknowledge
from .naming import STATEFUL, stack_unique_suffix, vault_name_prefix
from .network import Network

DB_NAME = "clinic"
DB_USER = "clinic_app"
DB_PORT = 5432
POSTGRES_VERSION = rds.PostgresEngineVersion.VER_16_9
ROTATION_DAYS = 30


class HaDatabase(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, network: Network, data_key: kms.IKey, config: ClinicConfig
    ) -> None:
        super().__init__(scope, construct_id)
        vpc = network.vpc
        # The stack's customer managed key (stacks/naming.py): database storage,
        # its snapshots, its secret and the backup vault.
        self.data_key = data_key

        self.security_group = ec2.SecurityGroup(
            self,
            "DbSg",
            vpc=vpc,
            description="Clinic database: PostgreSQL only from the app instances (and the rotation function)",
            allow_all_outbound=False,
        )
        self.instance = self._database_instance(config, network, self._parameters())
        self.secret = self.instance.secret
        # The generated DatabaseSecret (the instance's `secret` is its attachment).
        self.instance.node.find_child("Secret").apply_removal_policy(STATEFUL)

        self.instance.add_rotation_single_user(
            automatically_after=Duration.days(ROTATION_DAYS),
            vpc_subnets=network.app_subnets,
            endpoint=network.interface_endpoints["SecretsManager"],
        )
        self._backup_plan(config)
        self._acknowledge_findings()

    def _parameters(self) -> rds.ParameterGroup:
        return rds.ParameterGroup(
            self,
            "Parameters",
            engine=rds.DatabaseInstanceEngine.postgres(version=POSTGRES_VERSION),
            description="Clinic database: TLS only, slow statements logged",
            parameters={
                "rds.force_ssl": "1",
                "log_min_duration_statement": "1000",
                "log_connections": "1",
                "log_disconnections": "1",
            },
        )

    def _database_instance(self, config: ClinicConfig, network: Network,
                           parameters: rds.ParameterGroup) -> rds.DatabaseInstance:
        """PostgreSQL Multi-AZ, encrypted with the stack's key, PITR, logs and insights."""
        return rds.DatabaseInstance(
            self,
            "Postgres",
            engine=rds.DatabaseInstanceEngine.postgres(version=POSTGRES_VERSION),
            instance_type=ec2.InstanceType(config.ha_db_instance_class.removeprefix("db.")),
            vpc=network.vpc,
            vpc_subnets=network.app_subnets,
            security_groups=[self.security_group],
            multi_az=True,
            port=DB_PORT,
            database_name=DB_NAME,
            credentials=rds.Credentials.from_generated_secret(
                DB_USER, encryption_key=self.data_key, exclude_characters="\"'\\`/@:?#[]%& "
            ),
            storage_encrypted=True,
            storage_encryption_key=self.data_key,
            storage_type=rds.StorageType.GP3,
            allocated_storage=config.ha_db_storage_gib,
            max_allocated_storage=config.ha_db_storage_gib * 5,
            parameter_group=parameters,
            # Point-in-time recovery to any second of the window.
            backup_retention=Duration.days(config.db_backup_retention_days),
            preferred_backup_window="05:00-05:30",  # 02:00 in São Paulo
            preferred_maintenance_window="sun:06:00-sun:07:00",
            copy_tags_to_snapshot=True,
            auto_minor_version_upgrade=True,
            publicly_accessible=False,
            cloudwatch_logs_exports=["postgresql"],
            cloudwatch_logs_retention=config.log_retention,
            enable_performance_insights=True,
            performance_insight_encryption_key=self.data_key,
            # No deletion protection: like EC2 termination protection it would
            # block a failed first create's rollback. Stack termination protection
            # and RetainExceptOnCreate guard the database instead.
            deletion_protection=False,
            removal_policy=STATEFUL,
        )

    def allow_from(self, peer: ec2.IConnectable) -> None:
        """PostgreSQL from `peer` (the app instances' security group) and nothing else."""
        self.instance.connections.allow_default_port_from(peer, "PostgreSQL from the clinic app instances")

    def _backup_plan(self, config: ClinicConfig) -> None:
        self.vault = backup.BackupVault(
            self,
            "BackupVault",
            encryption_key=self.data_key,
            # Not the single mode's vault name: a stack switched in place keeps that
            # (retained) vault, and a second vault of the same name would fail.
            backup_vault_name=f"{vault_name_prefix(Stack.of(self).stack_name)}db-{stack_unique_suffix()}",
            removal_policy=STATEFUL,
        )
        plan = backup.BackupPlan(self, "BackupPlan", backup_vault=self.vault)
        plan.add_rule(
            daily_rule("daily-database", config.snapshot_retention_days)
        )
        arn = f"arn:{Aws.PARTITION}:rds:{Aws.REGION}:{Aws.ACCOUNT_ID}:db:{self.instance.instance_identifier}"
        plan.add_selection("Database", resources=[backup.BackupResource.from_arn(arn)], allow_restores=True)
        self.backup_plan = plan

    def _acknowledge_findings(self) -> None:
        i = self.instance
        acknowledge(
            i,
            "AwsSolutions-RDS10",
            "Deletion protection would block the rollback of a failed first create (as EC2 termination "
            "protection does); the stack's termination protection and the RetainExceptOnCreate deletion "
            "policy keep the database when the stack is deleted or the instance would be replaced.",
        )
        acknowledge(
            i,
            "AwsSolutions-RDS11",
            "The database sits in isolated subnets and its security group admits only the app instances "
            "and the rotation function; a non-default port adds no protection against either.",
        )
        # cloudwatch_logs_retention: CDK's LogRetention function sets the
        # retention of the log group RDS creates for its PostgreSQL log.
        log_retention = Stack.of(self).node.try_find_child("LogRetentionaae0aa3c5b4d4f87b02d85b201efdd8a")
        if log_retention is not None:
            role = log_retention.node.find_child("ServiceRole")
            acknowledge(
                role,
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
                "CDK's LogRetention function runs only during deploys to set the retention of the database's "
                "PostgreSQL log group; this managed policy only lets it write its own logs.",
            )
            acknowledge(
                role.node.find_child("DefaultPolicy"),
                "AwsSolutions-IAM5[Resource::*]",
                "CDK's LogRetention function calls logs:PutRetentionPolicy/DeleteRetentionPolicy on a log group "
                "RDS names at run time (/aws/rds/instance/<id>/postgresql), so its policy cannot name it.",
            )
        role = self.backup_plan.node.find_child("Database").node.find_child("Role")
        for policy in ("AWSBackupServiceRolePolicyForBackup", "AWSBackupServiceRolePolicyForRestores"):
            acknowledge(
                role,
                f"AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/{policy}]",
                "AWS Backup's own service-role policy, maintained by AWS for the snapshot and restore "
                "calls the service makes; the role is assumable only by backup.amazonaws.com.",
            )
