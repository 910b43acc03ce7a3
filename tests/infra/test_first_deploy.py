"""The first real deploy: CloudFront reaches nginx, boot waits for its endpoints,
a young account can deploy, and a failed first create leaves nothing behind
that blocks a retry (issue 11). Each test fails when its fix is removed.
"""

from __future__ import annotations

import configparser
import copy
import json
import os
import subprocess
import sys

import pytest

from scripts import diff as make_diff
from scripts import template_snapshot
from stacks.bootstrap import CFN_HUP_UNIT, CFN_HUP_UNIT_PATH
from stacks.clinic_server import (
    APP_PORT,
    CLOUDFRONT_PREFIX_LIST_NAME,
    CLOUDFRONT_PREFIX_LIST_WEIGHT,
    SG_INBOUND_RULES_QUOTA,
)
from stacks.config import ConfigError

from .conftest import REPO, instance, only, processor, resources_of, synth

# Every resource that holds data the clinic cannot recreate.
STATEFUL_TYPES = {
    "AWS::S3::Bucket",
    "AWS::EC2::Volume",
    "AWS::KMS::Key",
    "AWS::Backup::BackupVault",
    "AWS::SecretsManager::Secret",
}
# Properties that set a physical name (a second resource with the same name fails "already exists").
NAME_PROPERTIES = ("BucketName", "BackupVaultName", "Name", "AliasName", "LogGroupName", "FunctionName", "QueueName")
OPTED = {
    "clinic.processor_reserved_concurrency": 3,
    "clinic.availability_zone": "sa-east-1b",
    "clinic.termination_protection": False,
}


@pytest.fixture(scope="module")
def opted(tmp_path_factory) -> tuple[dict, dict]:
    """The stack with every opt-in of this issue set from the command line (`-c clinic.key=value`)."""
    out = tmp_path_factory.mktemp("opted")
    template = synth(out, OPTED)
    return template, json.loads((out / "manifest.json").read_text())


def _instance_sg_ids(template_json) -> list[str]:
    _, inst = instance(template_json)
    return [g["Fn::GetAtt"][0] for nic in inst["Properties"]["NetworkInterfaces"] for g in nic["GroupSet"]]


def _ingress_of(template_json, sg_ids) -> list[dict]:
    rules = [r for sg in sg_ids for r in template_json["Resources"][sg]["Properties"].get("SecurityGroupIngress", [])]
    rules += [
        r["Properties"]
        for r in resources_of(template_json, "AWS::EC2::SecurityGroupIngress").values()
        if r["Properties"]["GroupId"]["Fn::GetAtt"][0] in sg_ids
    ]
    return rules


# ------------------------------------------------------------ CloudFront -> nginx
def test_port_80_admits_only_the_cloudfront_origin_facing_prefix_list(template_json):
    rules = _ingress_of(template_json, _instance_sg_ids(template_json))
    (rule,) = rules  # nothing else reaches the instance: no CIDR, no other port
    assert (rule["IpProtocol"], rule["FromPort"], rule["ToPort"]) == ("tcp", APP_PORT, APP_PORT)
    assert not {"CidrIp", "CidrIpv6", "SourceSecurityGroupId"} & set(rule)
    # The id comes from a deploy-time lookup by name, never a literal pl-... of one region.
    lookup_id, attribute = rule["SourcePrefixListId"]["Fn::GetAtt"]
    assert attribute == "PrefixLists.0.PrefixListId"
    lookup = template_json["Resources"][lookup_id]
    assert lookup["Type"] == "Custom::AWS"
    for phase in ("Create", "Update"):
        parts = lookup["Properties"][phase]["Fn::Join"][1]  # JSON text around the {"Ref": "AWS::Region"} token
        call = json.loads("".join(p if isinstance(p, str) else "REGION" for p in parts))
        assert call["service"] == "EC2" and call["action"] == "describeManagedPrefixLists"
        assert call["parameters"] == {"Filters": [{"Name": "prefix-list-name", "Values": [CLOUDFRONT_PREFIX_LIST_NAME]}]}
    assert CLOUDFRONT_PREFIX_LIST_NAME == "com.amazonaws.global.cloudfront.origin-facing"


def test_prefix_list_lookup_may_only_describe_prefix_lists(template_json):
    policies = [
        p for p in resources_of(template_json, "AWS::IAM::Policy").values()
        if "DescribeManagedPrefixLists" in json.dumps(p)
    ]  # fmt: skip
    (policy,) = policies
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "ec2:DescribeManagedPrefixLists"


def test_inbound_rules_fit_the_security_group_quota_with_the_prefix_list_weight(template_json):
    """A prefix list counts as its weight (55 for CloudFront's), not as one rule, against 60 inbound rules."""
    assert CLOUDFRONT_PREFIX_LIST_WEIGHT >= 55  # AWS-managed prefix lists page; never understate it
    for sg_id in resources_of(template_json, "AWS::EC2::SecurityGroup"):
        weight = sum(
            CLOUDFRONT_PREFIX_LIST_WEIGHT if "SourcePrefixListId" in r else 1 for r in _ingress_of(template_json, [sg_id])
        )
        assert weight <= SG_INBOUND_RULES_QUOTA, f"{sg_id}: inbound rule weight {weight} > quota {SG_INBOUND_RULES_QUOTA}"


# ------------------------------------------------------------ young accounts
def test_reserved_concurrency_is_off_by_default_and_can_be_turned_on(template_json, opted):
    _, fn = processor(template_json)
    assert "ReservedConcurrentExecutions" not in fn["Properties"]
    defaults = json.loads((REPO / "cdk.json").read_text())["context"]["clinic"]
    assert defaults["processor_reserved_concurrency"] is None
    _, fn = processor(opted[0])
    assert fn["Properties"]["ReservedConcurrentExecutions"] == 3


# ------------------------------------------------------------ boot vs endpoints
def test_instance_waits_for_every_vpc_endpoint(template_json):
    _, inst = instance(template_json)
    endpoints = resources_of(template_json, "AWS::EC2::VPCEndpoint")
    kinds = {json.dumps(e["Properties"]["ServiceName"]) for e in endpoints.values()}
    for service in ("s3", "cloudformation", "secretsmanager", "ssm"):
        assert any(f".{service}" in k for k in kinds), f"no {service} endpoint"
    assert set(endpoints) <= set(inst.get("DependsOn", [])), set(endpoints) - set(inst.get("DependsOn", []))


# ------------------------------------------------------------ failed first create
def test_stateful_resources_are_retained_except_on_a_failed_create(template_json):
    resources = template_json["Resources"]
    for type_ in STATEFUL_TYPES:
        assert resources_of(template_json, type_), f"no {type_} in the template"
        for logical_id, resource in resources_of(template_json, type_).items():
            assert resource.get("DeletionPolicy") == "RetainExceptOnCreate", logical_id
            assert resource.get("UpdateReplacePolicy") == "Retain", logical_id
    # Nothing at all is plainly retained: a plain Retain survives a failed create.
    plain = [k for k, v in resources.items() if v.get("DeletionPolicy") in ("Retain", "Snapshot")]
    assert not plain, plain


def test_nothing_retained_has_a_name_a_retry_would_collide_with(template_json):
    """Whatever outlives the stack is named by CloudFormation or carries this stack's own id."""
    for logical_id, resource in template_json["Resources"].items():
        if resource.get("DeletionPolicy", "Delete") == "Delete":
            continue
        for prop in NAME_PROPERTIES:
            name = resource.get("Properties", {}).get(prop)
            if name is not None:
                assert "AWS::StackId" in json.dumps(name), f"{logical_id}.{prop} = {name!r} is fixed"


def test_no_ec2_termination_protection_but_stack_termination_protection(template_json, cdk_out, opted):
    _, inst = instance(template_json)
    assert "DisableApiTermination" not in inst["Properties"]  # it would make the rollback fail
    manifest = json.loads((cdk_out / "manifest.json").read_text())
    assert manifest["artifacts"]["ClinicStack"]["properties"]["terminationProtection"] is True
    assert "terminationProtection" not in opted[1]["artifacts"]["ClinicStack"]["properties"] or (
        opted[1]["artifacts"]["ClinicStack"]["properties"]["terminationProtection"] is False
    )


# ------------------------------------------------------------ cfn-hup
def test_cfn_init_writes_the_cfn_hup_unit_before_enabling_it(template_json):
    _, inst = instance(template_json)
    hup = inst["Metadata"]["AWS::CloudFormation::Init"]["hup"]
    unit = hup["files"][CFN_HUP_UNIT_PATH]
    assert unit["content"] == CFN_HUP_UNIT and unit["mode"] == "000644"
    parsed = configparser.ConfigParser()
    parsed.read_string(CFN_HUP_UNIT)
    assert parsed["Service"]["ExecStart"] == "/opt/aws/bin/cfn-hup"
    assert parsed["Install"]["WantedBy"] == "multi-user.target"
    # cfn-init order within a config: files, commands, services.
    assert any("daemon-reload" in c["command"] for c in hup["commands"].values())
    assert hup["services"]["systemd"]["cfn-hup"] == {"enabled": True, "ensureRunning": True}


# ------------------------------------------------------------ Availability Zone
def test_operator_chooses_the_zone(template_json, opted):
    template = opted[0]
    _, inst = instance(template)
    _, volume = only(template, "AWS::EC2::Volume")
    assert inst["Properties"]["AvailabilityZone"] == volume["Properties"]["AvailabilityZone"] == "sa-east-1b"
    zones = {json.dumps(s["Properties"]["AvailabilityZone"]) for s in resources_of(template, "AWS::EC2::Subnet").values()}
    assert zones == {'"sa-east-1b"'}
    # Default: no zone chosen, the first zone CloudFormation lists (preflight names its id).
    _, inst = instance(template_json)
    assert "Fn::GetAZs" in json.dumps(inst["Properties"]["AvailabilityZone"])


@pytest.mark.parametrize("zone", ["sa-east-1", "use1-az3", "SA-EAST-1A", "sa-east-1ab", 3])
def test_bad_zone_names_the_key(tmp_path, zone):
    with pytest.raises(ConfigError, match="'clinic.availability_zone'"):
        synth(tmp_path, {"clinic.availability_zone": zone})


# ------------------------------------------------------------ -c keys
@pytest.mark.parametrize(
    ("context", "key"),
    [
        ({"clinic.instnce_type": "t4g.medium"}, "clinic.instnce_type"),
        ({"clinic.processor_reserved_concurency": 5}, "clinic.processor_reserved_concurency"),
        ({"clinic.processor_reserved_concurrency": 0}, "clinic.processor_reserved_concurrency"),
        ({"clinic.termination_protection": "no"}, "clinic.termination_protection"),
        ({"clinic.data_volume_gib": "big"}, "clinic.data_volume_gib"),
    ],
)
def test_command_line_keys_are_validated_like_cdk_json(tmp_path, context, key):
    with pytest.raises(ConfigError, match=f"'{key}'"):
        synth(tmp_path, context)


def test_misspelt_command_line_key_stops_cdk_synth(tmp_path):
    """What the operator sees for `cdk synth -c clinic.instnce_type=t4g.medium`: one line, exit 1."""
    env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps({"clinic.instnce_type": "t4g.medium"}), "CDK_OUTDIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "app.py"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert "error: command-line context 'clinic.instnce_type' is not a known setting" in result.stderr
    assert "Traceback" not in result.stderr


# ------------------------------------------------------------ replacement guard
def test_no_change_replaces_the_instance_or_the_data_volume(template_json):
    """Against the reviewed snapshot: a change here means a planned move (docs/operations.md)."""
    snapshot = template_snapshot.snapshot_template("ClinicStack.template.json")
    assert template_snapshot.replacements(snapshot, template_json) == []


def _mutated(template_json, edit):
    changed = copy.deepcopy(template_json)
    edit(changed["Resources"])
    return changed


def test_replacement_guard_catches_replacing_changes(template_json):
    inst_id, _ = instance(template_json)
    volume_id, _ = only(template_json, "AWS::EC2::Volume")

    def bigger_root(r):
        r[inst_id]["Properties"]["BlockDeviceMappings"][0]["Ebs"]["VolumeSize"] = 32

    def delete_on_termination_only(r):
        r[inst_id]["Properties"]["BlockDeviceMappings"][0]["Ebs"]["DeleteOnTermination"] = False

    def new_volume_key(r):
        r[volume_id]["Properties"]["KmsKeyId"] = "arn:aws:kms:sa-east-1:111122223333:key/other"

    def bigger_volume(r):
        r[volume_id]["Properties"]["Size"] = 200  # resized in place: no replacement

    def renamed_volume(r):
        r["Renamed" + volume_id] = r.pop(volume_id)

    found = template_snapshot.replacements(template_json, _mutated(template_json, bigger_root))
    assert len(found) == 1 and inst_id in found[0] and "BlockDeviceMappings" in found[0]
    assert template_snapshot.replacements(template_json, _mutated(template_json, delete_on_termination_only)) == []
    found = template_snapshot.replacements(template_json, _mutated(template_json, new_volume_key))
    assert len(found) == 1 and volume_id in found[0] and "KmsKeyId" in found[0]
    assert template_snapshot.replacements(template_json, _mutated(template_json, bigger_volume)) == []
    found = template_snapshot.replacements(template_json, _mutated(template_json, renamed_volume))
    assert len(found) == 1 and "DELETED" in found[0]


def test_changing_the_zone_is_reported_as_replacing_instance_and_volume(template_json, opted):
    found = "\n".join(template_snapshot.replacements(template_json, opted[0]))
    assert "AWS::EC2::Instance" in found and "AWS::EC2::Volume" in found


def test_make_diff_says_so_loudly_offline(template_json, monkeypatch, capsys, tmp_path):
    inst_id, _ = instance(template_json)
    # A copy of the reviewed snapshot, so a regression here can never overwrite the real one.
    snapshots = tmp_path / "snapshots"
    snapshots.mkdir()
    for f in template_snapshot.SNAPSHOT_DIR.glob("*.template.json"):
        (snapshots / f.name).write_text(f.read_text())
    monkeypatch.setattr(template_snapshot, "SNAPSHOT_DIR", snapshots)

    def bigger_root(r):
        r[inst_id]["Properties"]["BlockDeviceMappings"][0]["Ebs"]["VolumeSize"] = 32

    changed = _mutated(template_json, bigger_root)
    monkeypatch.setattr(make_diff, "have_credentials", lambda: False)
    monkeypatch.setattr(template_snapshot, "synth_templates", lambda _out: {"ClinicStack.template.json": changed})
    assert make_diff.main("ClinicStack") == 3
    out = capsys.readouterr().out
    assert "THIS CHANGE REPLACES STATEFUL RESOURCES" in out and inst_id in out
    # ... and `make snapshot` refuses to accept it without --allow-replacement.
    assert template_snapshot.main(["--update"]) == 3
    assert template_snapshot.snapshot_template("ClinicStack.template.json") != template_snapshot.normalise(changed)


def test_make_diff_with_credentials_repeats_the_replacement_warning(template_json, monkeypatch, capsys, tmp_path):
    """`cdk diff` marks replacements among many lines; make diff adds the banner and exit 3."""
    inst_id, _ = instance(template_json)
    snapshots = tmp_path / "snapshots"
    snapshots.mkdir()
    for f in template_snapshot.SNAPSHOT_DIR.glob("*.template.json"):
        (snapshots / f.name).write_text(f.read_text())
    monkeypatch.setattr(template_snapshot, "SNAPSHOT_DIR", snapshots)

    def other_subnet(r):
        r[inst_id]["Properties"]["NetworkInterfaces"][0]["SubnetId"] = {"Ref": "SomeOtherSubnet"}

    changed = _mutated(template_json, other_subnet)
    calls = []
    monkeypatch.setattr(make_diff, "have_credentials", lambda: True)
    monkeypatch.setattr(make_diff.subprocess, "call", lambda cmd: calls.append(cmd) or 0)
    monkeypatch.setattr(template_snapshot, "synth_templates", lambda _out: {"ClinicStack.template.json": changed})
    assert make_diff.main("ClinicStack") == 3
    assert calls == [["npx", "--no-install", "cdk", "diff", "ClinicStack"]]
    out = capsys.readouterr().out
    assert "THIS CHANGE REPLACES STATEFUL RESOURCES" in out and "NetworkInterfaces" in out
    assert "@@" not in out  # the snapshot diff itself is not repeated after cdk's own
