"""Who may reach the origin: CloudFront's origin-facing servers, and nothing else.

Shared by both shapes: the single instance's security group (mode single) and
the internal load balancer's (mode ha) admit the app port from the AWS-managed
prefix list only. Its id differs per region, so a custom resource looks it up
at deploy time (docs/decisions.md, "Origin access").
"""

from __future__ import annotations

from aws_cdk import Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import custom_resources as cr
from constructs import Construct

from .nag import acknowledge

CLOUDFRONT_PREFIX_LIST_NAME = "com.amazonaws.global.cloudfront.origin-facing"
# A prefix list counts as its weight (AWS: 55 for this list) against the
# security group's inbound-rule quota (default 60), not as one rule.
CLOUDFRONT_PREFIX_LIST_WEIGHT = 55
SG_INBOUND_RULES_QUOTA = 60


def admit_cloudfront_only(
    scope: Construct,
    security_group: ec2.SecurityGroup,
    port: int,
    description: str = "nginx, reached only by CloudFront (origin-facing prefix list, VPC origin)",
) -> str:
    """Admit `port` on `security_group` from the prefix list; return the list's id (a token)."""
    lookup = cr.AwsCustomResource(
        scope,
        "CloudFrontPrefixList",
        on_update=cr.AwsSdkCall(  # also runs on create
            service="EC2",
            action="describeManagedPrefixLists",
            parameters={"Filters": [{"Name": "prefix-list-name", "Values": [CLOUDFRONT_PREFIX_LIST_NAME]}]},
            region=Aws.REGION,
            physical_resource_id=cr.PhysicalResourceId.of(CLOUDFRONT_PREFIX_LIST_NAME),
            output_paths=["PrefixLists.0.PrefixListId"],
        ),
        # DescribeManagedPrefixLists supports no resource-level permissions.
        policy=cr.AwsCustomResourcePolicy.from_statements(
            [iam.PolicyStatement(actions=["ec2:DescribeManagedPrefixLists"], resources=["*"])]
        ),
        install_latest_aws_sdk=False,  # never reach npm during a deploy
        timeout=Duration.minutes(2),
    )
    prefix_list_id = lookup.get_response_field("PrefixLists.0.PrefixListId")
    security_group.add_ingress_rule(ec2.Peer.prefix_list(prefix_list_id), ec2.Port.tcp(port), description)
    acknowledge(
        lookup.node.find_child("CustomResourcePolicy"),
        "AwsSolutions-IAM5[Resource::*]",
        "ec2:DescribeManagedPrefixLists supports no resource-level permissions (service authorization "
        "reference); the deploy-time lookup is read-only and has no other action.",
    )
    provider_id = "AWS" + cr.AwsCustomResource.PROVIDER_FUNCTION_UUID.replace("-", "")  # its singleton id
    provider = Stack.of(scope).node.try_find_child(provider_id)
    if provider is not None:
        # Its logs are of deploy-time lookups only: no reason to outlive the stack.
        log_group = provider.node.try_find_child("LogGroup")
        if log_group is not None:
            log_group.apply_removal_policy(RemovalPolicy.DESTROY)
        acknowledge(
            provider,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
            "CDK's AwsCustomResource provider runs only during deploys (the prefix-list lookup); its role "
            "only writes its own logs with this managed policy, the lookup's action is in its own policy.",
        )
    return prefix_list_id
