"""Network: a VPC with no NAT gateway; the instance reaches AWS APIs through endpoints."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from constructs import Construct

from .config import ClinicConfig

# What the instance talks to: Session Manager (ssm, ssmmessages, ec2messages),
# its secrets, and CloudFormation (cfn-init, cfn-hup, cfn-signal). S3 (photos,
# backups, assets and the Amazon Linux package repositories) goes through the
# free gateway endpoint. See docs/decisions.md for the cost against a NAT gateway.
INTERFACE_ENDPOINTS = {
    "Ssm": ec2.InterfaceVpcEndpointAwsService.SSM,
    "SsmMessages": ec2.InterfaceVpcEndpointAwsService.SSM_MESSAGES,
    "Ec2Messages": ec2.InterfaceVpcEndpointAwsService.EC2_MESSAGES,
    "SecretsManager": ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
    "CloudFormation": ec2.InterfaceVpcEndpointAwsService.CLOUDFORMATION,
}
# Mode ha only: the instances ship their logs to CloudWatch Logs (nothing an
# instance holds is needed once it is gone).
HA_INTERFACE_ENDPOINTS = {"Logs": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS}


# A literal (not the VPC's CidrBlock attribute) so security-group rules stay
# readable in reviews and checkable by cdk-nag.
VPC_CIDR = "10.20.0.0/16"


class Network(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: ClinicConfig) -> None:
        super().__init__(scope, construct_id)
        flow_logs = logs.LogGroup(
            self, "FlowLogs", retention=config.log_retention, removal_policy=RemovalPolicy.DESTROY
        )
        # The operator's zone (cdk.json clinic.availability_zone): VPC origins are
        # not offered in every zone, and a zone *name* maps to a different physical
        # zone in each account, so `make preflight` checks its zone id.
        # Mode ha always spans two zones (config refuses availability_zone there).
        zones = {"availability_zones": [config.availability_zone]} if config.availability_zone else {"max_azs": 2}
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(VPC_CIDR),
            **zones,
            nat_gateways=0,
            restrict_default_security_group=True,
            # The public subnets hold nothing: CloudFront VPC origins need the VPC
            # to have an internet gateway. The instance lives in an isolated subnet.
            subnet_configuration=[
                ec2.SubnetConfiguration(name="Public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24, map_public_ip_on_launch=False),
                ec2.SubnetConfiguration(name="App", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24),
            ],
            flow_logs={
                "All": ec2.FlowLogOptions(
                    destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs),
                    traffic_type=ec2.FlowLogTrafficType.ALL,
                )
            },
        )
        self.app_subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        # Every endpoint the instance's first boot uses (dnf via S3, cfn-init,
        # cfn-signal, Secrets Manager, Session Manager); the instance depends on all.
        self.endpoints: list[ec2.IVpcEndpoint] = [
            self.vpc.add_gateway_endpoint("S3", service=ec2.GatewayVpcEndpointAwsService.S3)
        ]

    def add_interface_endpoints(self, subnet: ec2.ISubnet | None, *, extra: dict | None = None) -> None:
        """Endpoints in the instance's subnet only: one ENI each, half the hourly price.

        `subnet=None` (mode ha): in every app subnet, so one zone's loss leaves
        the other zone's instances their endpoints.
        """
        subnets = ec2.SubnetSelection(subnets=[subnet]) if subnet is not None else self.app_subnets
        self.interface_endpoints: dict[str, ec2.InterfaceVpcEndpoint] = {}
        endpoint_sg = ec2.SecurityGroup(
            self,
            "EndpointSg",
            vpc=self.vpc,
            description="AWS API endpoints: HTTPS from inside the VPC only",
            allow_all_outbound=False,
        )
        endpoint_sg.add_ingress_rule(ec2.Peer.ipv4(VPC_CIDR), ec2.Port.tcp(443), "AWS APIs over TLS from the VPC")
        for name, service in {**INTERFACE_ENDPOINTS, **(extra or {})}.items():
            endpoint = self.vpc.add_interface_endpoint(
                name,
                service=service,
                subnets=subnets,
                private_dns_enabled=True,
                security_groups=[endpoint_sg],
                open=False,
            )
            self.endpoints.append(endpoint)
            self.interface_endpoints[name] = endpoint
