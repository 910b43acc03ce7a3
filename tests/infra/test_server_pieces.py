"""ClinicServer's pieces are whole when built: each takes all its inputs in __init__ and
can be built alone in a bare Stack (no install_app/finish_bootstrap steps afterwards)."""

from __future__ import annotations

import json

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk.assertions import Match, Template
from constructs import Construct

from stacks.clinic_server import AppSecrets, ClinicServer, ServerData, ServerInstance
from stacks.config import ClinicConfig
from stacks.installer import REQUIRED_OPTIONS
from stacks.network import Network
from stacks.photo_storage import PhotoStorage

CONFIG = ClinicConfig()


def bare() -> Stack:
    return Stack(App(), "Bare", env={"account": "111111111111", "region": "sa-east-1"})


def test_server_data_alone():
    stack = bare()
    data = ServerData(Construct(stack, "Scope"), availability_zone="sa-east-1a", config=CONFIG)
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::EC2::Volume", {"Encrypted": True, "AvailabilityZone": "sa-east-1a",
                                                          "KmsKeyId": Match.any_value()})
    template.resource_count_is("AWS::Backup::BackupVault", 1)
    template.resource_count_is("AWS::Backup::BackupSelection", 1)
    assert data.volume and data.key and data.plan


@pytest.mark.parametrize(("readers", "key"), [("the instance", False), ("the instances", True)])
def test_app_secrets_alone(readers, key):
    stack = bare()
    scope = Construct(stack, "Scope")
    encryption_key = ServerData(scope, availability_zone="sa-east-1a", config=CONFIG).key if key else None
    AppSecrets(scope, readers=readers, encryption_key=encryption_key)
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::SecretsManager::Secret", 2)
    template.has_resource_properties("AWS::SecretsManager::Secret", {
        "Description": f"Django SECRET_KEY of the clinic app (read by {readers} at install time)",
        **({"KmsKeyId": Match.any_value()} if key else {}),
    })


def _install_command(template: Template) -> str:
    (instance,) = template.find_resources("AWS::EC2::Instance").values()
    command = instance["Metadata"]["AWS::CloudFormation::Init"]["install"]["commands"]["10-install-clinic"]["command"]
    return json.dumps(command)


def test_server_instance_alone_is_bootstrapped_when_built():
    stack = bare()
    network = Network(stack, "Network", config=CONFIG)
    storage = PhotoStorage(stack, "Storage", config=CONFIG)
    scope = Construct(stack, "Scope")
    subnet = network.vpc.isolated_subnets[0]
    data = ServerData(scope, availability_zone=subnet.availability_zone, config=CONFIG)
    ServerInstance(scope, vpc=network.vpc, subnet=subnet, data=data, secrets=AppSecrets(scope), storage=storage,
                   allowed_hosts=[".cloudfront.net"], csrf_origins=[], config=CONFIG)
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::EC2::Instance", {
        "Volumes": [{"Device": "/dev/sdf", "VolumeId": Match.any_value()}],
        "MetadataOptions": Match.object_like({"HttpTokens": "required"}),
    })
    command = _install_command(template)
    for option in REQUIRED_OPTIONS:
        assert f"{option} " in command, option


def test_clinic_server_is_whole_after_init():
    stack = bare()
    network = Network(stack, "Network", config=CONFIG)
    storage = PhotoStorage(stack, "Storage", config=CONFIG)
    server = ClinicServer(stack, "ClinicServer", network=network, storage=storage,
                          allowed_hosts=[".cloudfront.net"], csrf_origins=[], config=CONFIG)
    assert not hasattr(server, "install_app") and not hasattr(server, "finish_bootstrap")
    template = Template.from_stack(stack)
    assert "--backup-prefix" in _install_command(template)
    template.has_resource("AWS::EC2::Instance", {"CreationPolicy": {"ResourceSignal": {"Count": 1, "Timeout": "PT30M"}}})
    assert isinstance(server.security_group, ec2.SecurityGroup)
