"""The whole clinic in one stack.

Bucket, processor, instance and front door stay in one stack on purpose: the
S3 notification and the CORS origin cross between them, and across stacks
those references become cycles (see docs/decisions.md).
"""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from .app_fleet import AppFleet
from .clinic_server import APP_PORT, ClinicServer
from .config import load_config
from .front_door import FrontDoor
from .ha_database import HaDatabase
from .naming import stack_data_key
from .network import HA_INTERFACE_ENDPOINTS, Network
from .photo_processor import PhotoProcessor
from .photo_storage import PhotoStorage


class ClinicStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        config = load_config(self.node)
        # The guard against deleting the stack that holds the clinic's data; it
        # replaces EC2 termination protection, which blocks a failed create's
        # rollback. Lift it with the command in docs/deploy.md.
        self.termination_protection = config.termination_protection

        self.storage = PhotoStorage(self, "PhotoStorage", config=config)
        self.processor = PhotoProcessor(self, "PhotoProcessor", storage=self.storage, config=config)
        self.network = Network(self, "Network", config=config)
        if config.mode == "ha":
            self._high_availability(config)
        else:
            self._single_instance(config)
            self._single_instance_outputs()

    def _single_instance(self, config) -> None:
        """Mode single: one instance with its data volume, behind CloudFront."""
        # Only CloudFront reaches the instance, and it forwards the viewer's Host:
        # the distribution's own *.cloudfront.net name, or the custom domain.
        # (Its exact name would make a cycle: instance -> distribution -> instance.)
        allowed_hosts = [config.custom_domain] if config.custom_domain else [".cloudfront.net"]
        self.server = ClinicServer(
            self,
            "ClinicServer",
            network=self.network,
            storage=self.storage,
            allowed_hosts=allowed_hosts,
            csrf_origins=[f"https://{config.custom_domain}"] if config.custom_domain else [],
            config=config,
        )
        self.network.add_interface_endpoints(self.server.subnet)
        # dnf (S3 gateway), cfn-init/cfn-signal (CloudFormation), the installer
        # (Secrets Manager) and Session Manager all run at first boot: the instance
        # starts only once every endpoint exists.
        for endpoint in self.network.endpoints:
            self.server.instance.node.add_dependency(endpoint)
        self.front_door = FrontDoor(
            self,
            "FrontDoor",
            instance=self.server.instance,
            http_port=APP_PORT,
            log_bucket=self.storage.log_bucket,
            config=config,
        )
        self.storage.allow_browser_uploads_from([self.front_door.origin, *config.extra_cors_origins])

    def _single_instance_outputs(self) -> None:
        CfnOutput(self, "AppUrl", value=self.front_door.origin, description="Open this in a browser")
        CfnOutput(self, "InstanceId", value=self.server.instance.instance_id)
        CfnOutput(
            self,
            "SessionManagerCommand",
            value=self.server.session_manager_command,
            description="Shell on the instance without SSH",
        )
        CfnOutput(self, "PhotoBucketName", value=self.storage.bucket.bucket_name)
        CfnOutput(self, "ProcessorFunctionName", value=self.processor.function.function_name)
        CfnOutput(self, "FailedEventsQueueUrl", value=self.processor.failures.queue_url)
        CfnOutput(self, "DataVolumeId", value=self.server.data_volume.volume_id)
        CfnOutput(
            self,
            "AdminPasswordSecretArn",
            value=self.server.admin_password.secret_arn,
            description="First sign-in: user 'admin'; read the password with aws secretsmanager get-secret-value",
        )

    def _high_availability(self, config) -> None:
        """Mode ha: RDS PostgreSQL Multi-AZ, an Auto Scaling group behind an internal ALB."""
        # Every endpoint in both zones, plus CloudWatch Logs (logs leave the instance).
        self.network.add_interface_endpoints(None, extra=HA_INTERFACE_ENDPOINTS)
        # The stack's key at the path mode single gives it: same logical id, same alias.
        data_key = stack_data_key(Construct(self, "ClinicServer"))
        self.database = HaDatabase(self, "Database", network=self.network, data_key=data_key, config=config)
        allowed_hosts = [config.custom_domain] if config.custom_domain else [".cloudfront.net"]
        self.fleet = AppFleet(
            self,
            "AppFleet",
            network=self.network,
            database=self.database,
            storage=self.storage,
            allowed_hosts=allowed_hosts,
            csrf_origins=[f"https://{config.custom_domain}"] if config.custom_domain else [],
            config=config,
        )
        self.front_door = FrontDoor(
            self,
            "FrontDoor",
            load_balancer=self.fleet.load_balancer,
            http_port=APP_PORT,
            log_bucket=self.storage.log_bucket,
            config=config,
        )
        self.storage.allow_browser_uploads_from([self.front_door.origin, *config.extra_cors_origins])

        CfnOutput(self, "AppUrl", value=self.front_door.origin, description="Open this in a browser")
        CfnOutput(self, "AutoScalingGroupName", value=self.fleet.group.auto_scaling_group_name)
        CfnOutput(self, "PhotoBucketName", value=self.storage.bucket.bucket_name)
        CfnOutput(self, "ProcessorFunctionName", value=self.processor.function.function_name)
        CfnOutput(self, "FailedEventsQueueUrl", value=self.processor.failures.queue_url)
        CfnOutput(self, "DatabaseEndpoint", value=self.database.instance.db_instance_endpoint_address)
        CfnOutput(self, "DatabaseSecretArn", value=self.database.secret.secret_arn)
        CfnOutput(self, "AppLogGroup", value=self.fleet.log_group.log_group_name)
        CfnOutput(
            self,
            "AdminPasswordSecretArn",
            value=self.fleet.admin_password.secret_arn,
            description="First sign-in: user 'admin'; read the password with aws secretsmanager get-secret-value",
        )
