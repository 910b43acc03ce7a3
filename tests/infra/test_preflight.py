"""`make preflight` against moto: a good account passes, and each check fails on its own bad setup.

moto stands in for AWS. Two calls moto does not implement are answered by
botocore's Stubber with the exact response shape of the API: Lambda
GetAccountSettings, and Service Quotas values other than the defaults.
"""

from __future__ import annotations

import dataclasses
import sys

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from stacks.config import ClinicConfig

from .conftest import REPO

sys.path.insert(0, str(REPO / "scripts"))
import preflight  # noqa: E402

REGION = "us-east-1"  # moto maps us-east-1e to use1-az3, a zone VPC origins do not support


@pytest.fixture
def aws(monkeypatch):
    for key in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_REGION"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        session = boto3.session.Session(region_name=REGION)
        session.client("ssm").put_parameter(Name="/cdk-bootstrap/hnb659fds/version", Value="27", Type="String")
        yield session


def lambda_settings(session, total=1000, unreserved=1000):
    """A Lambda client whose GetAccountSettings answers like the real API (moto has no such call)."""
    client = session.client("lambda")
    stub = Stubber(client)
    stub.add_response(
        "get_account_settings",
        {
            "AccountLimit": {
                "TotalCodeSize": 80530636800,
                "CodeSizeUnzipped": 262144000,
                "CodeSizeZipped": 52428800,
                "ConcurrentExecutions": total,
                "UnreservedConcurrentExecutions": unreserved,
            },
            "AccountUsage": {"TotalCodeSize": 0, "FunctionCount": 0},
        },
    )
    stub.activate()
    return client


def run(session, config=None, clients=None, **kwargs) -> dict[str, preflight.Result]:
    clients = {"lambda": lambda_settings(session), **(clients or {})}
    checker = preflight.Preflight(session, config or ClinicConfig(), clients=clients, **kwargs)
    return {r.name: r for r in checker.run()}


def failed(results) -> dict[str, preflight.Result]:
    return {name: r for name, r in results.items() if not r.ok}


def test_a_ready_account_passes_every_check(aws, capsys):
    results = run(aws)
    assert not failed(results), failed(results)
    assert len(results) == 9
    assert "use1-az6" in results["Availability Zone for VPC origins"].detail  # us-east-1a in moto


def test_no_region(aws, monkeypatch, tmp_path):
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    session = boto3.session.Session()
    results = preflight.Preflight(session, ClinicConfig()).run()
    (only,) = results
    assert not only.ok and "AWS_REGION" in only.fix


def test_never_bootstrapped(aws):
    aws.client("ssm").delete_parameter(Name="/cdk-bootstrap/hnb659fds/version")
    bad = failed(run(aws))
    assert list(bad) == ["CDK bootstrap"]
    assert "never bootstrapped" in bad["CDK bootstrap"].detail and "cdk bootstrap aws://" in bad["CDK bootstrap"].fix


def test_old_bootstrap(aws):
    aws.client("ssm").put_parameter(Name="/cdk-bootstrap/hnb659fds/version", Value="5", Type="String", Overwrite=True)
    bad = failed(run(aws, bootstrap_version=6))
    assert list(bad) == ["CDK bootstrap"] and "version 5" in bad["CDK bootstrap"].detail


def test_young_account_cannot_reserve_concurrency(aws):
    config = dataclasses.replace(ClinicConfig(), processor_reserved_concurrency=5)
    bad = failed(run(aws, config, clients={"lambda": lambda_settings(aws, total=50, unreserved=50)}))
    assert list(bad) == ["Lambda concurrency"]
    assert "processor_reserved_concurrency to null" in bad["Lambda concurrency"].fix
    # The same young account with the default (no reservation) passes.
    assert not failed(run(aws, clients={"lambda": lambda_settings(aws, total=10, unreserved=10)}))


def test_zone_without_vpc_origins(aws):
    config = dataclasses.replace(ClinicConfig(), availability_zone="us-east-1e")  # use1-az3 in moto
    bad = failed(run(aws, config))
    assert "Availability Zone for VPC origins" in bad
    result = bad["Availability Zone for VPC origins"]
    assert "use1-az3" in result.detail and "us-east-1e" not in result.fix and "us-east-1a" in result.fix


def test_mode_ha_checks_both_of_its_zones(aws, monkeypatch):
    config = dataclasses.replace(ClinicConfig(), mode="ha")
    assert "Availability Zone for VPC origins" not in failed(run(aws, config))
    zones = {z["ZoneName"]: z["ZoneId"] for z in aws.client("ec2").describe_availability_zones()["AvailabilityZones"]}
    # Were the region's second zone one VPC origins do not support, mode ha could not deploy there.
    monkeypatch.setattr(preflight, "UNSUPPORTED_VPC_ORIGIN_ZONE_IDS", frozenset({zones["us-east-1b"]}))
    bad = failed(run(aws, config))
    assert zones["us-east-1b"] in bad["Availability Zone for VPC origins"].detail
    assert "mode ha" in bad["Availability Zone for VPC origins"].detail


def test_zone_not_in_the_region(aws):
    config = dataclasses.replace(ClinicConfig(), availability_zone="sa-east-1a")
    bad = failed(run(aws, config))
    assert "not an available zone of us-east-1" in bad["Availability Zone for VPC origins"].detail


def test_instance_type_not_offered_in_the_zone(aws):
    config = dataclasses.replace(ClinicConfig(), availability_zone="us-east-1f", instance_type="im4gn.large")
    bad = failed(run(aws, config))
    assert list(bad) == ["instance type in the zone"]
    assert "us-east-1a" in bad["instance type in the zone"].fix


def test_unknown_runtime(aws):
    bad = failed(run(aws, runtime="python9.99"))
    assert list(bad) == ["Lambda runtime and arm64"]


def test_alias_left_by_an_earlier_stack(aws):
    kms = aws.client("kms")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/clinicstack-data", TargetKeyId=key)
    bad = failed(run(aws))
    assert list(bad) == ["names left by earlier stacks"]
    assert "aws kms delete-alias --alias-name alias/clinicstack-data" in bad["names left by earlier stacks"].fix


def test_retained_buckets_are_reported_but_do_not_block(aws):
    aws.client("s3").create_bucket(Bucket="clinicstack-photos-123456789012-us-east-1-1a2b3c4d")
    results = run(aws)
    assert not failed(results)
    assert "1 bucket(s)" in results["names left by earlier stacks"].detail


def test_stack_stuck_in_rollback_complete(aws):
    cfn = aws.client("cloudformation")
    cfn.create_stack(StackName="ClinicStack", TemplateBody='{"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}')
    stub = Stubber(cfn)
    stub.add_response(
        "describe_stacks",
        {"Stacks": [{"StackName": "ClinicStack", "CreationTime": "2026-01-01T00:00:00Z", "StackStatus": "ROLLBACK_COMPLETE"}]},
        {"StackName": "ClinicStack"},
    )
    stub.activate()
    bad = failed(run(aws, clients={"cloudformation": cfn}))
    assert list(bad) == ["names left by earlier stacks"]
    assert "delete-stack --stack-name ClinicStack" in bad["names left by earlier stacks"].fix


def test_vpc_quota_reached(aws):
    ec2 = aws.client("ec2")
    while len(ec2.describe_vpcs()["Vpcs"]) < 5:  # moto's default VPC counts, as in a real account
        ec2.create_vpc(CidrBlock="10.99.0.0/16")
    bad = failed(run(aws))
    assert list(bad) == ["VPC quota"] and "5 VPCs of 5" in bad["VPC quota"].detail


def test_security_group_rule_quota_below_the_prefix_list_weight(aws):
    quotas = aws.client("service-quotas")
    stub = Stubber(quotas)
    for code, value in (("L-F678F1CE", 5.0), ("L-29B6F2EB", 50.0), ("L-0EA8095F", 40.0)):
        stub.add_response(
            "get_service_quota",
            {"Quota": {"ServiceCode": "vpc", "QuotaCode": code, "Value": value}},
            {"ServiceCode": "vpc", "QuotaCode": code},
        )
    stub.activate()
    bad = failed(run(aws, clients={"service-quotas": quotas}))
    assert list(bad) == ["endpoint and security-group quotas"]
    assert "weighs 55" in bad["endpoint and security-group quotas"].detail


def test_main_prints_one_line_per_check_and_exits_non_zero(aws, capsys, monkeypatch):
    aws.client("ssm").delete_parameter(Name="/cdk-bootstrap/hnb659fds/version")
    monkeypatch.setattr(preflight, "Preflight", _with_stubbed_lambda(preflight.Preflight))
    assert preflight.main(["-c", "clinic.availability_zone=us-east-1b"], session=aws) == 1
    out = capsys.readouterr().out.splitlines()
    checks = [line for line in out if line.startswith(("PASS", "FAIL"))]
    assert len(checks) == 9
    assert any(line.startswith("FAIL  CDK bootstrap") for line in checks)
    assert any(line.strip().startswith("fix: npx cdk bootstrap") for line in out)
    assert "us-east-1b" in next(line for line in checks if "Availability Zone" in line)


def test_main_rejects_a_misspelt_setting(aws, capsys):
    assert preflight.main(["-c", "clinic.instnce_type=t4g.medium"], session=aws) == 1
    assert "'clinic.instnce_type'" in capsys.readouterr().out


def _with_stubbed_lambda(cls):
    class WithStub(cls):
        def __init__(self, session, config, **kwargs):
            super().__init__(session, config, clients={"lambda": lambda_settings(session)}, **kwargs)

    return WithStub
