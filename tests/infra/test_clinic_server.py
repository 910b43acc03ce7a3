"""The EC2 half: network, instance, data volume, key, snapshots, bootstrap."""

from __future__ import annotations

import json

from .conftest import actions_of, instance, only, policy_of_role, resources_of


def test_vpc_has_flow_logs_restricted_default_sg_and_no_nat(template_json):
    vpc_id, _ = only(template_json, "AWS::EC2::VPC")
    _, flow_log = only(template_json, "AWS::EC2::FlowLog")
    assert flow_log["Properties"]["ResourceId"] == {"Ref": vpc_id}
    assert flow_log["Properties"]["TrafficType"] == "ALL"
    assert resources_of(template_json, "Custom::VpcRestrictDefaultSG")
    assert not resources_of(template_json, "AWS::EC2::NatGateway")
    assert not resources_of(template_json, "AWS::EC2::EIP")


def test_instance_is_graviton_al2023_with_imdsv2_and_no_key_pair(template_json):
    _, inst = instance(template_json)
    props = inst["Properties"]
    assert props["InstanceType"] == "t4g.small"
    assert props["ImageId"] == "resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"
    assert props["MetadataOptions"]["HttpTokens"] == "required"
    assert "KeyName" not in props
    assert props["Monitoring"] is True
    # No EC2 termination protection: it blocks a failed first create's rollback
    # (the stack's own termination protection guards it; test_first_deploy.py).
    assert "DisableApiTermination" not in props
    (root,) = props["BlockDeviceMappings"]
    assert root["Ebs"]["Encrypted"] is True


def test_instance_has_no_public_address_and_no_ssh(template_json):
    _, inst = instance(template_json)
    (nic,) = inst["Properties"]["NetworkInterfaces"]
    assert nic["AssociatePublicIpAddress"] is False
    subnet_id = nic["SubnetId"]["Ref"]
    subnet = template_json["Resources"][subnet_id]["Properties"]
    assert subnet["MapPublicIpOnLaunch"] is False
    routes = [
        r for r in resources_of(template_json, "AWS::EC2::Route").values()
        if "GatewayId" in r["Properties"]
    ]  # fmt: skip
    associations = [
        a["Properties"]["RouteTableId"]
        for a in resources_of(template_json, "AWS::EC2::SubnetRouteTableAssociation").values()
        if a["Properties"]["SubnetId"] == {"Ref": subnet_id}
    ]
    assert not [r for r in routes if r["Properties"]["RouteTableId"] in associations], "app subnet reaches the internet"
    sg_ids = [g["Fn::GetAtt"][0] for g in nic["GroupSet"]]
    ingress = [rule for sg in sg_ids for rule in template_json["Resources"][sg]["Properties"].get("SecurityGroupIngress", [])]
    ingress += [
        r["Properties"]
        for r in resources_of(template_json, "AWS::EC2::SecurityGroupIngress").values()
        if r["Properties"]["GroupId"]["Fn::GetAtt"][0] in sg_ids
    ]
    # Port 80 only, from CloudFront's origin-facing prefix list only (test_first_deploy.py).
    assert [(r["FromPort"], r["ToPort"], "SourcePrefixListId" in r) for r in ingress] == [(80, 80, True)]
    assert not any(r.get("FromPort") == 22 for r in ingress)


def test_data_volume_is_gp3_encrypted_with_rotating_cmk_retained_in_the_instance_az(template_json):
    volume_id, volume = only(template_json, "AWS::EC2::Volume")
    props = volume["Properties"]
    assert props["VolumeType"] == "gp3"
    assert props["Encrypted"] is True
    key_id = props["KmsKeyId"]["Fn::GetAtt"][0]
    key = template_json["Resources"][key_id]
    assert key["Properties"]["EnableKeyRotation"] is True
    assert key["DeletionPolicy"] == volume["DeletionPolicy"] == "RetainExceptOnCreate"
    _, inst = instance(template_json)
    subnet_id = inst["Properties"]["NetworkInterfaces"][0]["SubnetId"]["Ref"]
    subnet = template_json["Resources"][subnet_id]["Properties"]
    assert props["AvailabilityZone"] == subnet["AvailabilityZone"] == inst["Properties"]["AvailabilityZone"]
    assert inst["Properties"]["Volumes"] == [{"Device": "/dev/sdf", "VolumeId": {"Ref": volume_id}}]


def test_daily_snapshots_with_documented_retention(template_json):
    _, plan = only(template_json, "AWS::Backup::BackupPlan")
    (rule,) = plan["Properties"]["BackupPlan"]["BackupPlanRule"]
    assert rule["ScheduleExpression"] == "cron(0 6 * * ? *)"
    assert rule["Lifecycle"]["DeleteAfterDays"] == 14
    _, selection = only(template_json, "AWS::Backup::BackupSelection")
    volume_id, _ = only(template_json, "AWS::EC2::Volume")
    assert volume_id in json.dumps(selection["Properties"]["BackupSelection"]["Resources"])
    vault_id, vault = only(template_json, "AWS::Backup::BackupVault")
    assert vault["DeletionPolicy"] == "RetainExceptOnCreate"
    key_id, _ = only(template_json, "AWS::KMS::Key")
    assert vault["Properties"]["EncryptionKeyArn"] == {"Fn::GetAtt": [key_id, "Arn"]}


def test_creation_policy_waits_for_one_signal(template_json):
    _, inst = instance(template_json)
    assert inst["CreationPolicy"] == {"ResourceSignal": {"Count": 1, "Timeout": "PT30M"}}
    user_data = json.dumps(inst["Properties"]["UserData"])
    assert "cfn-signal -e" in user_data and "--reason" in user_data


def test_user_data_is_constant_so_updates_never_replace_or_stop_the_instance(template_json):
    """No asset hash, volume id or config in user data: all of it is in cfn-init metadata."""
    _, inst = instance(template_json)
    user_data = json.dumps(inst["Properties"]["UserData"])
    assert "cdk-hnb659fds-assets" not in user_data
    assert "fingerprint" not in user_data
    refs = {v for v in _refs(inst["Properties"]["UserData"])}
    assert refs <= {"AWS::Region", "AWS::StackName"}, refs
    metadata = json.dumps(inst["Metadata"]["AWS::CloudFormation::Init"])
    assert "prepare_data_volume.sh" in metadata


def test_disk_preparation_runs_on_every_boot_by_volume_id(template_json):
    _, inst = instance(template_json)
    volume_id, _ = only(template_json, "AWS::EC2::Volume")
    prepare = inst["Metadata"]["AWS::CloudFormation::Init"]["prepare"]
    unit = prepare["files"]["/etc/systemd/system/clinic-data-volume.service"]["content"]
    assert {"Ref": volume_id} in unit["Fn::Join"][1]
    text = "".join(p for p in unit["Fn::Join"][1] if isinstance(p, str))
    assert "--volume-id" in text and "--mount-point /data" in text
    assert "WantedBy=multi-user.target" in text
    assert "systemctl enable clinic-data-volume.service" in json.dumps(prepare["commands"])


def test_cfn_hup_applies_metadata_changes(template_json):
    instance_id, inst = instance(template_json)
    hup = inst["Metadata"]["AWS::CloudFormation::Init"]["hup"]
    hook = json.dumps(hup["files"]["/etc/cfn/hooks.d/clinic-update.conf"])
    assert f"Resources.{instance_id}.Metadata.AWS::CloudFormation::Init" in hook
    assert hup["services"]["systemd"]["cfn-hup"] == {"enabled": True, "ensureRunning": True}


def test_instance_role_has_no_managed_policies(template_json):
    _, inst = instance(template_json)
    profile = template_json["Resources"][inst["Properties"]["IamInstanceProfile"]["Ref"]]
    role_id = profile["Properties"]["Roles"][0]["Ref"]
    assert "ManagedPolicyArns" not in template_json["Resources"][role_id]["Properties"]
    actions = [a for s in policy_of_role(template_json, role_id) for a in actions_of(s)]
    assert "s3:*" not in actions and "*" not in actions


def _refs(node):
    if isinstance(node, dict):
        if "Ref" in node:
            yield node["Ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)
