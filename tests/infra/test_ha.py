"""Mode ha (`-c clinic.mode=ha`): verified like the default template.

RDS PostgreSQL Multi-AZ encrypted with the stack's key, credentials rotated,
reachable only from the app; an Auto Scaling group over two zones behind an
internal ALB that only CloudFront reaches; rolling releases gated by signals;
PITR + AWS Backup; nag-clean, cfn-lint-clean, pinned, snapshotted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO, actions_of, only, policy_of_role, resources_of, synth

sys.path.insert(0, str(REPO / "scripts"))
import template_snapshot  # noqa: E402

HA = {"clinic.mode": "ha"}
SNAPSHOT = "ClinicStack-ha.template.json"

# Stateful resources of mode ha: a rename would replace them (and RDS would
# delete its automated backups with the old instance).
PINNED = {
    "PhotoStoragePhotos15219561": "AWS::S3::Bucket",
    "PhotoStorageAccessLogs6DCF0D77": "AWS::S3::Bucket",
    # The same key (logical id and alias) as mode single: a stack switched in place keeps it.
    "ClinicServerDataKey64F459CD": "AWS::KMS::Key",
    "DatabasePostgres277EF4CB": "AWS::RDS::DBInstance",
    "DatabaseBackupVaultED8CBFE1": "AWS::Backup::BackupVault",
    "AppFleetDjangoSecretKey7DF9A482": "AWS::SecretsManager::Secret",
    "AppFleetAdminPassword97CD8A9A": "AWS::SecretsManager::Secret",
    "ClinicStackDatabasePostgresSecret32B111172dc45c1e755012c2fe7011c5e6fb8cb8": "AWS::SecretsManager::Secret",
}


@pytest.fixture(scope="module")
def ha_out(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cdk.out.ha")
    synth(out, HA)  # cdk-nag runs here: an unacknowledged finding fails the synth
    return out


@pytest.fixture(scope="module")
def ha(ha_out) -> dict:
    return json.loads((ha_out / "ClinicStack.template.json").read_text())


def _db(ha):
    return only(ha, "AWS::RDS::DBInstance")


def _group(ha):
    return only(ha, "AWS::AutoScaling::AutoScalingGroup")


def _sg_of(ha, logical_prefix):
    return next(k for k in resources_of(ha, "AWS::EC2::SecurityGroup") if k.startswith(logical_prefix))


def _ingress(ha, sg_id):
    rules = [
        r["Properties"]
        for r in resources_of(ha, "AWS::EC2::SecurityGroupIngress").values()
        if r["Properties"]["GroupId"] == {"Fn::GetAtt": [sg_id, "GroupId"]}
    ]
    return rules + list(ha["Resources"][sg_id]["Properties"].get("SecurityGroupIngress", []))


# ---------------------------------------------------------------- config
@pytest.mark.parametrize(
    ("context", "key"),
    [
        ({"clinic.mode": "multi"}, "clinic.mode"),
        ({"clinic.mode": "ha", "clinic.db_backup_retention_days": 90}, "clinic.db_backup_retention_days"),
        ({"clinic.mode": "ha", "clinic.availability_zone": "sa-east-1a"}, "clinic.availability_zone"),
        ({"clinic.ha_db_instance_class": "db.m5.large"}, "clinic.ha_db_instance_class"),
        ({"clinic.ha_min_instances": 1}, "clinic.ha_min_instances"),
        ({"clinic.ha_min_instances": 3, "clinic.ha_max_instances": 2}, "clinic.ha_max_instances"),
    ],
)
def test_a_bad_ha_setting_names_its_key(tmp_path, context, key):
    from stacks.config import ConfigError

    with pytest.raises(ConfigError, match=f"'{key}'"):
        synth(tmp_path, context)


def test_the_default_is_mode_single():
    from stacks.config import ClinicConfig

    assert ClinicConfig().mode == "single"
    assert json.loads((REPO / "cdk.json").read_text())["context"]["clinic"].get("mode", "single") == "single"


# ---------------------------------------------------------------- database
def test_database_is_multi_az_postgres_encrypted_with_the_stacks_key(ha):
    db_id, db = _db(ha)
    p = db["Properties"]
    assert p["Engine"] == "postgres" and p["EngineVersion"].startswith("16")
    assert p["MultiAZ"] is True
    assert p["StorageEncrypted"] is True
    key_id, _ = only(ha, "AWS::KMS::Key")
    assert p["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert p["PubliclyAccessible"] is False
    assert p["DeletionProtection"] is False  # would block a failed first create's rollback
    # Point-in-time recovery over the whole retention window.
    assert p["BackupRetentionPeriod"] == 35
    assert db["DeletionPolicy"] == "RetainExceptOnCreate" and db["UpdateReplacePolicy"] == "Retain"
    params = only(ha, "AWS::RDS::DBParameterGroup")[1]["Properties"]["Parameters"]
    assert params["rds.force_ssl"] == "1"
    # In the isolated subnets of both zones.
    group = only(ha, "AWS::RDS::DBSubnetGroup")[1]["Properties"]["SubnetIds"]
    isolated = {k for k, v in resources_of(ha, "AWS::EC2::Subnet").items() if "App" in k}
    assert {s["Ref"] for s in group} == isolated and len(isolated) == 2


def test_credentials_in_secrets_manager_rotate_through_the_endpoint(ha):
    db_id, db = _db(ha)
    secret_id = next(k for k in PINNED if k.startswith("ClinicStackDatabasePostgresSecret"))
    secret = ha["Resources"][secret_id]
    assert secret["DeletionPolicy"] == "RetainExceptOnCreate"
    key_id, _ = only(ha, "AWS::KMS::Key")
    assert secret["Properties"]["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    # The password the instance gets is the secret's (dynamic reference), never a literal.
    assert "resolve:secretsmanager" in json.dumps(db["Properties"]["MasterUserPassword"])
    _, schedule = only(ha, "AWS::SecretsManager::RotationSchedule")
    assert schedule["Properties"]["RotationRules"]["ScheduleExpression"] == "rate(30 days)"
    _, app = only(ha, "AWS::Serverless::Application")
    params = app["Properties"]["Parameters"]
    assert "SecretsManagerRDSPostgreSQLRotationSingleUser" in json.dumps(ha["Mappings"])
    endpoint_id = next(k for k in resources_of(ha, "AWS::EC2::VPCEndpoint") if "SecretsManager" in k)
    # The function (no internet) calls Secrets Manager through the interface endpoint.
    assert json.dumps({"Ref": endpoint_id}) in json.dumps(params["endpoint"])
    isolated = {k for k in resources_of(ha, "AWS::EC2::Subnet") if "App" in k}
    assert all(f'"Ref": "{s}"' in json.dumps(params["vpcSubnetIds"]) for s in isolated)


def test_database_is_reachable_only_from_the_app_instances_and_the_rotation_function(ha):
    db_sg = _sg_of(ha, "DatabaseDbSg")
    app_sg = _sg_of(ha, "AppFleetInstanceSg")
    rotation_sg = _sg_of(ha, "DatabasePostgresRotationSingleUserSecurityGroup")
    sources = [r.get("SourceSecurityGroupId") for r in _ingress(ha, db_sg)]
    assert sorted(s["Fn::GetAtt"][0] for s in sources) == sorted([app_sg, rotation_sg])
    assert not [r for r in _ingress(ha, db_sg) if "CidrIp" in r or "SourcePrefixListId" in r]


# ---------------------------------------------------------------- fleet and front door
def test_alb_is_internal_and_admits_only_cloudfronts_prefix_list(ha):
    alb_id, alb = only(ha, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert alb["Properties"]["Scheme"] == "internal"
    # The viewer's address stays the last X-Forwarded-For hop (the one CloudFront appended).
    attributes = {a["Key"]: a["Value"] for a in alb["Properties"]["LoadBalancerAttributes"]}
    assert attributes["routing.http.xff_header_processing.mode"] == "preserve"
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"
    alb_sg = _sg_of(ha, "AppFleetAlbSg")
    rules = _ingress(ha, alb_sg)
    assert len(rules) == 1
    lookup_id, lookup = only(ha, "Custom::AWS")
    assert rules[0]["SourcePrefixListId"] == {"Fn::GetAtt": [lookup_id, "PrefixLists.0.PrefixListId"]}
    assert rules[0]["FromPort"] == rules[0]["ToPort"] == 80
    assert "com.amazonaws.global.cloudfront.origin-facing" in json.dumps(lookup["Properties"])
    # The VPC origin is the ALB.
    _, origin = only(ha, "AWS::CloudFront::VpcOrigin")
    assert origin["Properties"]["VpcOriginEndpointConfig"]["Arn"] == {"Ref": alb_id}
    # The instances accept HTTP from the ALB only.
    app_sg = _sg_of(ha, "AppFleetInstanceSg")
    app_rules = _ingress(ha, app_sg)
    assert [r["SourceSecurityGroupId"] for r in app_rules] == [{"Fn::GetAtt": [alb_sg, "GroupId"]}]


def test_group_spans_two_zones_checks_elb_health_and_rolls_with_signals(ha):
    group_id, group = _group(ha)
    p = group["Properties"]
    isolated = sorted(k for k in resources_of(ha, "AWS::EC2::Subnet") if "App" in k)
    assert sorted(s["Ref"] for s in p["VPCZoneIdentifier"]) == isolated
    zones = {json.dumps(ha["Resources"][s]["Properties"]["AvailabilityZone"]) for s in isolated}
    assert len(zones) == 2
    assert p["MinSize"] == "2" and int(p["MaxSize"]) >= 2
    assert p["HealthCheckType"] == "ELB"
    assert group["CreationPolicy"]["ResourceSignal"]["Count"] == 2
    rolling = group["UpdatePolicy"]["AutoScalingRollingUpdate"]
    assert rolling["WaitOnResourceSignals"] is True
    assert rolling["MaxBatchSize"] == 1 and rolling["MinInstancesInService"] == 2
    assert {"HealthCheck", "ReplaceUnhealthy", "AZRebalance"} <= set(rolling["SuspendProcesses"])
    _, tg = only(ha, "AWS::ElasticLoadBalancingV2::TargetGroup")
    assert tg["Properties"]["HealthCheckPath"] == "/healthz"


def test_a_new_release_is_a_new_launch_template_version(ha):
    """The release hash is in user data, so a release rolls through the group."""
    _, lt = only(ha, "AWS::EC2::LaunchTemplate")
    data = lt["Properties"]["LaunchTemplateData"]
    user_data = json.dumps(data["UserData"])
    group_id, group = _group(ha)
    import re

    release = re.search(r"/opt/clinic/releases/([0-9a-f]{64})", json.dumps(group["Metadata"]))
    assert release and f"# clinic release {release.group(1)}" in user_data
    assert f"--resource {group_id}" in user_data and "cfn-signal" in user_data
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    assert all(m["Ebs"]["Encrypted"] for m in data["BlockDeviceMappings"])
    init = json.dumps(group["Metadata"]["AWS::CloudFormation::Init"])
    # No data volume, no cfn-hup (it would update every instance at once).
    assert "prepare_data_volume" not in init and "cfn-hup" not in init
    assert "--database-secret-id" in init and "--data-dir /var/lib/clinic" in init


def test_group_boots_only_once_every_endpoint_and_the_database_exist(ha):
    group_id, group = _group(ha)
    endpoints = set(resources_of(ha, "AWS::EC2::VPCEndpoint"))
    assert any("Logs" in e for e in endpoints)
    assert endpoints <= set(group["DependsOn"])
    assert _db(ha)[0] in group["DependsOn"]
    # Interface endpoints in both zones: one zone's loss leaves the other its endpoints.
    isolated = {k for k in resources_of(ha, "AWS::EC2::Subnet") if "App" in k}
    for logical_id, endpoint in resources_of(ha, "AWS::EC2::VPCEndpoint").items():
        if endpoint["Properties"].get("VpcEndpointType") == "Interface":
            assert {s["Ref"] for s in endpoint["Properties"]["SubnetIds"]} == isolated, logical_id


def test_logs_are_shipped_and_the_role_is_least_privilege(ha):
    _, group = _group(ha)
    init = json.dumps(group["Metadata"]["AWS::CloudFormation::Init"])
    assert "amazon-cloudwatch-agent" in init
    _, profile = only(ha, "AWS::IAM::InstanceProfile")
    role_id = profile["Properties"]["Roles"][0]["Ref"]
    statements = policy_of_role(ha, role_id)
    actions = {a for s in statements for a in actions_of(s)}
    assert {"logs:PutLogEvents", "logs:CreateLogStream"} <= actions
    assert not [a for a in actions if a.endswith(":*") or a in ("s3:DeleteObjectVersion", "s3:*", "rds:*")]
    # The deletion outbox deletes (delete markers) under uploads/ and processed/ only.
    for statement in statements:
        if "s3:DeleteObject" in actions_of(statement):
            resources = json.dumps(statement["Resource"])
            assert "uploads/*" in resources and "processed/*" in resources and "backups/" not in resources
    # backups/ only to read mode single's SQLite backups (copy_to_postgres); nothing writes there.
    for statement in statements:
        if "backups/" in json.dumps(statement["Resource"]):
            assert actions_of(statement) == ["s3:GetObject"], statement
    assert not any(a in ("s3:PutObject", "s3:DeleteObject") and "backups/" in json.dumps(s["Resource"])
                   for s in statements for a in actions_of(s))
    assert not resources_of(ha, "AWS::EC2::Volume") and not resources_of(ha, "AWS::EC2::Instance")


def test_backups_are_pitr_and_aws_backup_in_a_vault_under_the_stacks_key(ha):
    key_id, _ = only(ha, "AWS::KMS::Key")
    vault_id, vault = only(ha, "AWS::Backup::BackupVault")
    assert vault["Properties"]["EncryptionKeyArn"] == {"Fn::GetAtt": [key_id, "Arn"]}
    name = json.dumps(vault["Properties"]["BackupVaultName"])
    assert "AWS::StackId" in name  # stack-unique name
    assert "-snapshots-db-" in name  # not mode single's vault name: a switched stack keeps that one
    _, selection = only(ha, "AWS::Backup::BackupSelection")
    assert ":db:" in json.dumps(selection) and _db(ha)[0] in json.dumps(selection)


# ---------------------------------------------------------------- pinned, retained, nag, lint, snapshot
def test_stateful_logical_ids_are_pinned_and_retained(ha):
    for logical_id, type_ in PINNED.items():
        resource = ha["Resources"].get(logical_id)
        assert resource is not None, f"{type_} {logical_id} is gone: it would be replaced"
        assert resource["Type"] == type_
        assert resource["DeletionPolicy"] == "RetainExceptOnCreate", logical_id
        assert resource["UpdateReplacePolicy"] == "Retain", logical_id


def test_every_ha_acknowledgement_is_finding_level_with_a_reason(tmp_path):
    import aws_cdk

    from app import build_app

    base = json.loads((REPO / "cdk.json").read_text())["context"]
    app = build_app(context={**base, **HA}, outdir=str(tmp_path))
    key = aws_cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY
    found = [
        (c.node.path, rule, reason)
        for c in app.node.find_all()
        for e in c.node.metadata
        if e.type == key
        for rule, reason in e.data.items()
        if "AwsSolutions-" in rule
    ]
    assert any("RDS10" in r for _, r, _ in found)
    for path, rule, reason in found:
        assert len(reason) >= 60, f"{path}: {rule}"
        if rule.split("::")[-1].split("[")[0] in ("AwsSolutions-IAM4", "AwsSolutions-IAM5"):
            assert "[" in rule and rule.endswith("]"), f"{path}: {rule} must name the exact finding"
    assert not [f for f in found if f[0] in ("", "ClinicStack")]


def test_cfn_lint_reports_no_errors_on_the_ha_template(ha_out):
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    cmd = [str(cfn_lint)] if cfn_lint.exists() else [sys.executable, "-m", "cfnlint.runner"]
    result = subprocess.run([*cmd, "--format", "json", str(ha_out / "ClinicStack.template.json")], capture_output=True, text=True)
    findings = json.loads(result.stdout or "[]")
    errors = [f for f in findings if f["Level"] == "Error"]
    assert not errors, json.dumps(errors, indent=1)


def test_ha_template_matches_its_snapshot(ha):
    text = template_snapshot.diff(SNAPSHOT, ha)
    assert not text, f"{SNAPSHOT} changed; if intended run `make snapshot` and commit it:\n{text}"


def test_replacement_guard_covers_the_database(ha):
    assert template_snapshot.replacements(template_snapshot.snapshot_template(SNAPSHOT), ha) == []
    mutated = json.loads(json.dumps(ha))
    db_id, _ = _db(ha)
    mutated["Resources"][db_id]["Properties"]["KmsKeyId"] = "arn:aws:kms:us-east-1:111111111111:key/other"
    found = template_snapshot.replacements(ha, mutated)
    assert found and db_id in found[0] and "KmsKeyId" in found[0]
    del mutated["Resources"][db_id]
    assert any("DELETED" in line for line in template_snapshot.replacements(ha, mutated))


def test_switching_a_stack_in_place_keeps_its_bucket_and_key(ha):
    """single -> ha on the same stack: the photo bucket, the log bucket and the key
    keep their logical ids and replacement properties; the vault's name differs
    (the single mode's vault is retained and would block a namesake)."""
    single = template_snapshot.snapshot_template("ClinicStack.template.json")
    shared = {k: v for k, v in single["Resources"].items() if v["Type"] in ("AWS::S3::Bucket", "AWS::KMS::Key")}
    assert len(shared) == 3
    assert template_snapshot.replacements({"Resources": shared}, ha) == []
    alias = lambda t: [r["Properties"]["AliasName"] for r in resources_of(t, "AWS::KMS::Alias").values()]  # noqa: E731
    assert alias(single) == alias(ha)
    single_vault = only(single, "AWS::Backup::BackupVault")[1]["Properties"]["BackupVaultName"]
    ha_vault = only(ha, "AWS::Backup::BackupVault")[1]["Properties"]["BackupVaultName"]
    assert single_vault != ha_vault


PHOTO_SIDS = ("PresignAndConfirmUploads", "ReadRenditions", "DeletePhotoObjects", "ListPhotoObjects")


def test_the_app_has_the_same_photo_access_in_both_shapes(ha, template_json):
    """One definition (PhotoStorage.grant_app_photo_access) for the instance of mode
    single and every instance of mode ha: the deletion outbox works in both."""

    def photo_statements(template):
        _, profile = only(template, "AWS::IAM::InstanceProfile")
        statements = policy_of_role(template, profile["Properties"]["Roles"][0]["Ref"])
        return {s["Sid"]: s for s in statements if s.get("Sid") in PHOTO_SIDS}

    single, fleet = photo_statements(template_json), photo_statements(ha)
    assert set(single) == set(fleet) == set(PHOTO_SIDS)
    assert single == fleet
