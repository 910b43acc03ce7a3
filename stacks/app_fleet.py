"""Mode ha: the app on an Auto Scaling group over two zones, behind an internal ALB.

Nothing an instance holds is needed once it is gone: the database is RDS
(stacks/ha_database.py), sessions and sign-in throttle counters live in it,
photos in S3, logs are shipped to CloudWatch Logs through the logs interface
endpoint. Any instance may therefore be replaced at any time.

A release rolls through the group: the release's hash is part of the launch
template's user data, so a new release is a new launch template version, and
CloudFormation's AutoScalingRollingUpdate replaces one instance at a time,
waiting for each new instance's cfn-signal (sent only once /healthz answers
through nginx) and rolling the whole update back on a failure or time-out.
There is no cfn-hup here on purpose: it would update every instance at once.
Migrations run once per release: the first new instance migrates under a
PostgreSQL advisory lock (`migrate_locked`), the others find nothing to do.
"""

from __future__ import annotations

from aws_cdk import Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_autoscaling as autoscaling
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from . import bootstrap
from .app_release import release_asset
from .clinic_server import AL2023_ARM64_AMI, APP_PORT, ORIGIN_PEERS, AppSecrets
from .config import ClinicConfig
from .ha_database import HaDatabase
from .installer import InstallerArgs
from .nag import acknowledge
from .network import Network
from .origin_access import admit_cloudfront_only
from .photo_storage import BACKUPS_PREFIX, PhotoStorage

# Mode ha has no data volume: the app's working directory (static files, a
# scratch log directory shipped to CloudWatch) is on the root volume.
HA_DATA_DIR = "/var/lib/clinic"
HEALTH_PATH = "/healthz"
SIGNAL_TIMEOUT = Duration.minutes(30)
# CloudWatch agent: the files it ships (all under the app's log directory).
SHIPPED_LOGS = ("clinic.log", "gunicorn-access.log", "gunicorn-error.log", "nginx-access.log", "nginx-error.log")


class AppFleet(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        network: Network,
        database: HaDatabase,
        storage: PhotoStorage,
        allowed_hosts: list[str],
        csrf_origins: list[str],
        config: ClinicConfig,
    ) -> None:
        super().__init__(scope, construct_id)
        self._access(network, database)
        self._identity(config, storage, database)
        self._fleet(config, network, database)
        self._load_balancer(network)
        self._acknowledge_findings()
        # Whole when built: the release and its bootstrap need nothing from the front door.
        self._install_app(storage=storage, database=database, allowed_hosts=allowed_hosts,
                          csrf_origins=csrf_origins)

    # ------------------------------------------------------------------ pieces
    def _access(self, network: Network, database: HaDatabase) -> None:
        vpc = network.vpc
        # ---- who talks to whom: CloudFront -> ALB -> instances -> database
        self.alb_security_group = ec2.SecurityGroup(
            self,
            "AlbSg",
            vpc=vpc,
            description="Internal ALB: HTTP only from CloudFront origin-facing servers (VPC origin)",
            allow_all_outbound=False,
        )
        self.cloudfront_prefix_list_id = admit_cloudfront_only(
            self,
            self.alb_security_group,
            APP_PORT,
            "ALB listener, reached only by CloudFront (origin-facing prefix list, VPC origin)",
        )
        self.security_group = ec2.SecurityGroup(
            self,
            "InstanceSg",
            vpc=vpc,
            description="Clinic app instances: HTTP only from the internal ALB; no SSH",
            allow_all_outbound=True,  # isolated subnets: only endpoints and the S3 gateway are reachable
        )
        # ALB -> instances on APP_PORT (ingress on the instances, egress on the
        # ALB) is added by listener.add_targets below, as separate rule resources.
        database.allow_from(self.security_group)

    def _identity(self, config: ClinicConfig, storage: PhotoStorage, database: HaDatabase) -> None:
        # ---- identity and secrets
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"),
            description="Clinic app instances (mode ha), least privilege (see stacks/app_fleet.py)",
        )
        # The same pair as mode single (stacks/clinic_server.py AppSecrets), under the stack's key.
        self.secrets = AppSecrets(self, readers="the instances", rotation=" on every instance",
                                  encryption_key=database.data_key)
        self.secret_key = self.secrets.secret_key
        self.admin_password = self.secrets.admin_password
        self.log_group = logs.LogGroup(
            self,
            "AppLogs",
            retention=config.log_retention,
            removal_policy=RemovalPolicy.RETAIN,  # the audit of who did what outlives the stack
        )
        self._grant(storage, database)

    def _fleet(self, config: ClinicConfig, network: Network, database: HaDatabase) -> None:
        vpc = network.vpc
        # ---- the fleet
        self.user_data = ec2.UserData.for_linux()
        launch_template = self._launch_template(config)
        self.group = autoscaling.AutoScalingGroup(
            self,
            "Group",
            vpc=vpc,
            vpc_subnets=network.app_subnets,  # one isolated subnet in each of two zones
            launch_template=launch_template,
            min_capacity=config.ha_min_instances,
            max_capacity=config.ha_max_instances,
            health_checks=autoscaling.HealthChecks.with_additional_checks(
                additional_types=[autoscaling.AdditionalHealthCheckType.ELB],
                grace_period=Duration.minutes(10),
            ),
            default_instance_warmup=Duration.minutes(5),
            group_metrics=[autoscaling.GroupMetrics.all()],
            # Create: every one of the minimum instances signals success (after /healthz).
            signals=autoscaling.Signals.wait_for_min_capacity(timeout=SIGNAL_TIMEOUT),
            # Update: one instance at a time, never below the minimum in service,
            # each new instance's signal awaited; a failure or a time-out rolls
            # the whole update back.
            update_policy=autoscaling.UpdatePolicy.rolling_update(
                max_batch_size=1,
                min_instances_in_service=config.ha_min_instances,
                suspend_processes=[
                    autoscaling.ScalingProcess.HEALTH_CHECK,
                    autoscaling.ScalingProcess.REPLACE_UNHEALTHY,
                    autoscaling.ScalingProcess.AZ_REBALANCE,
                    autoscaling.ScalingProcess.ALARM_NOTIFICATION,
                    autoscaling.ScalingProcess.SCHEDULED_ACTIONS,
                ],
            ),
        )
        self.group.scale_on_cpu_utilization("Cpu", target_utilization_percent=60)
        cfn_group: autoscaling.CfnAutoScalingGroup = self.group.node.default_child  # type: ignore[assignment]
        # The instances boot through the endpoints (dnf, cfn-init, cfn-signal,
        # Secrets Manager, CloudWatch Logs): the group starts once they exist.
        for endpoint in network.endpoints:
            self.group.node.add_dependency(endpoint)
        self.group.node.add_dependency(database.instance)
        self.logical_id = Stack.of(self).resolve(Stack.of(self).get_logical_id(cfn_group))

    def _launch_template(self, config: ClinicConfig) -> ec2.LaunchTemplate:
        return ec2.LaunchTemplate(
            self,
            "LaunchTemplate",
            machine_image=ec2.MachineImage.resolve_ssm_parameter_at_launch(AL2023_ARM64_AMI),
            instance_type=ec2.InstanceType(config.instance_type),
            security_group=self.security_group,
            role=self.role,
            user_data=self.user_data,
            require_imdsv2=True,
            http_put_response_hop_limit=1,
            detailed_monitoring=True,
            block_devices=[
                ec2.BlockDevice(
                    device_name="/dev/xvda",
                    volume=ec2.BlockDeviceVolume.ebs(
                        16, encrypted=True, volume_type=ec2.EbsDeviceVolumeType.GP3, delete_on_termination=True
                    ),
                )
            ],
        )

    def _load_balancer(self, network: Network) -> None:
        vpc = network.vpc
        # ---- the internal load balancer CloudFront's VPC origin points at
        self.load_balancer = elbv2.ApplicationLoadBalancer(
            self,
            "Alb",
            vpc=vpc,
            internet_facing=False,
            vpc_subnets=network.app_subnets,
            security_group=self.alb_security_group,
            drop_invalid_header_fields=True,
            idle_timeout=Duration.seconds(60),
            # CloudFront appends the viewer's address to X-Forwarded-For; in the
            # default mode (append) the ALB would append CloudFront's own, and
            # nginx, which takes the last hop (ec2_userdata/templates/nginx-clinic.conf),
            # would count every viewer of an edge as one. Preserve keeps
            # CloudFront's header as it is: the last hop is the viewer again.
            xff_header_processing_mode=elbv2.XffHeaderProcessingMode.PRESERVE,
        )
        listener = self.load_balancer.add_listener("Http", port=APP_PORT, protocol=elbv2.ApplicationProtocol.HTTP, open=False)
        listener.add_targets(
            "App",
            port=APP_PORT,
            protocol=elbv2.ApplicationProtocol.HTTP,
            targets=[self.group],
            deregistration_delay=Duration.seconds(30),
            health_check=elbv2.HealthCheck(
                path=HEALTH_PATH,
                healthy_http_codes="200",
                interval=Duration.seconds(15),
                timeout=Duration.seconds(5),
                healthy_threshold_count=2,
                unhealthy_threshold_count=2,
            ),
        )

    # ------------------------------------------------------------------ install
    def _install_app(self, *, storage: PhotoStorage, database: HaDatabase, allowed_hosts: list[str],
                     csrf_origins: list[str]) -> None:
        release = release_asset(self, "AppRelease")
        args = InstallerArgs(
            release_hash=release.asset_hash,
            data_dir=HA_DATA_DIR,
            bucket=storage.bucket_name,
            region=Aws.REGION,
            allowed_hosts=allowed_hosts,
            csrf_origins=csrf_origins,
            secret_key_arn=self.secret_key.secret_arn,
            admin_secret_arn=self.admin_password.secret_arn,
            trusted_proxies=ORIGIN_PEERS,
            database_secret_arn=database.secret.secret_arn,
        )
        configs = {
            "logs": self._log_shipping_config(),
            "install": ec2.InitConfig(
                [
                    ec2.InitSource.from_existing_asset(args.release_dir, release),
                    ec2.InitCommand.shell_command(args.command(), key="10-install-clinic"),
                ]
            ),
        }
        init = ec2.CloudFormationInit.from_config_sets(config_sets={bootstrap.CONFIG_SET: list(configs)}, configs=configs)
        init.attach(
            self.group.node.default_child,
            platform=ec2.OperatingSystemType.LINUX,
            instance_role=self.role,
            user_data=ec2.UserData.for_linux(),  # discarded: ours is bootstrap.write_user_data
            config_sets=[bootstrap.CONFIG_SET],
            embed_fingerprint=False,
        )
        # The release is part of the launch template: a new release is a new
        # template version, which the rolling update takes through the group.
        self.user_data.add_commands(f"# clinic release {release.asset_hash}")
        bootstrap.write_user_data(self.user_data, self.logical_id)
        self._acknowledge_asset_reads()

    def _log_shipping_config(self) -> ec2.InitConfig:
        log_dir = f"{HA_DATA_DIR}/logs"
        agent = {
            "agent": {"run_as_user": "root"},
            "logs": {
                "logs_collected": {
                    "files": {
                        "collect_list": [
                            {
                                "file_path": f"{log_dir}/{name}",
                                "log_group_name": self.log_group.log_group_name,
                                "log_stream_name": f"{{instance_id}}/{name}",
                                "retention_in_days": -1,
                            }
                            for name in SHIPPED_LOGS
                        ]
                    }
                }
            },
        }
        path = "/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json"
        return ec2.InitConfig(
            [
                ec2.InitPackage.yum("amazon-cloudwatch-agent"),
                ec2.InitFile.from_string(path, Stack.of(self).to_json_string(agent), mode="000644"),
                ec2.InitCommand.shell_command(
                    "/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 "
                    f"-s -c file:{path}",
                    key="10-start-cloudwatch-agent",
                ),
            ]
        )

    def _grant(self, storage: PhotoStorage, database: HaDatabase) -> None:
        statements = [
            ("SessionManager", [
                "ssm:UpdateInstanceInformation", "ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
                "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel", "ec2messages:AcknowledgeMessage",
                "ec2messages:DeleteMessage", "ec2messages:FailMessage", "ec2messages:GetEndpoint",
                "ec2messages:GetMessages", "ec2messages:SendReply",
            ], ["*"]),
            # Moving from mode single: the SQLite backup copy_to_postgres reads (read-only).
            ("ReadSqliteBackups", ["s3:GetObject"], [storage.object_arn(BACKUPS_PREFIX)]),
            ("ReadAppSecrets", ["secretsmanager:GetSecretValue"],
             [self.secret_key.secret_arn, self.admin_password.secret_arn, database.secret.secret_arn]),
            ("DecryptAppSecrets", ["kms:Decrypt"], [database.data_key.key_arn]),
            ("ShipLogs", ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
             [self.log_group.log_group_arn, f"{self.log_group.log_group_arn}:log-stream:*"]),
        ]  # fmt: skip
        storage.grant_app_photo_access(self.role)  # the same photo access as mode single
        for sid, actions, resources in statements:
            self.role.add_to_policy(iam.PolicyStatement(sid=sid, actions=actions, resources=resources))
        policy = self.role.node.find_child("DefaultPolicy")
        for prefix, why in (
            (BACKUPS_PREFIX, f"reads (never writes) the SQLite backups of mode single under {BACKUPS_PREFIX}, "
                             "for copy_to_postgres"),
        ):
            acknowledge(policy, f"AwsSolutions-IAM5[Resource::{storage.nag_object_arn(prefix)}]", f"The clinic app {why}; the wildcard is that prefix only.")
        acknowledge(
            policy,
            "AwsSolutions-IAM5[Resource::*]",
            "Session Manager's ssm:UpdateInstanceInformation, ssmmessages:* channel and ec2messages:* "
            "actions support no resource-level permissions (AWS service authorization reference); they "
            "replace SSH and are the only wildcard-resource actions of this role.",
        )
        acknowledge(
            policy,
            f"AwsSolutions-IAM5[Resource::<{Stack.of(self).get_logical_id(self.log_group.node.default_child)}.Arn>:log-stream:*]",
            "Each instance writes its own log streams (named by instance id) in the app's one log group; "
            "stream names are created at run time, so the wildcard is limited to that group.",
        )

    def _acknowledge_asset_reads(self) -> None:
        assets = "arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>"
        reason = (
            "cfn-init on the instances downloads the app release from the CDK bootstrap assets bucket; "
            "CDK's read-only asset grant (GetObject*, GetBucket*, List*) is limited to that bucket."
        )
        policy = self.role.node.find_child("DefaultPolicy")
        for finding in ("Action::s3:GetBucket*", "Action::s3:GetObject*", "Action::s3:List*", f"Resource::{assets}/*"):
            acknowledge(policy, f"AwsSolutions-IAM5[{finding}]", reason)

    def _acknowledge_findings(self) -> None:
        acknowledge(
            self.load_balancer,
            "AwsSolutions-ELB2",
            "CloudFront's standard logs (PhotoStorage access-log bucket) record every request that reaches "
            "this internal ALB, which only CloudFront can reach; ALB access logging needs the region at "
            "synth time and the stack is deliberately environment-agnostic.",
        )
        acknowledge(
            self.group,
            "AwsSolutions-AS3",
            "Scaling and replacement events are visible in the group's activity history and CloudWatch group "
            "metrics (all enabled); a clinic has no on-call rota to page through SNS notifications.",
        )
