"""`make preflight`: read-only checks of an AWS account before the first `cdk deploy`.

One line per check, PASS or FAIL, and for a FAIL the fix. Exit 1 when any
check fails, so `make deploy` stops before CloudFormation starts a 40-minute
create that cannot succeed. Every AWS call here is a read (Describe*, Get*,
List*); nothing is created or changed.

    .venv/bin/python scripts/preflight.py [--stack ClinicStack] [-c clinic.key=value ...]

Tested against moto (tests/infra/test_preflight.py); the calls moto does not
implement (Lambda GetAccountSettings, non-default service quotas) are
exercised with botocore's Stubber.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

BOOTSTRAP_QUALIFIER = "hnb659fds"
# The CDK CLI refuses templates whose assets need a newer bootstrap stack; the
# synthesized manifest says which (requiresBootstrapStackVersion). 6 is what
# aws-cdk-lib v2 has asked for since its first release.
DEFAULT_BOOTSTRAP_VERSION = 6
# Lambda keeps 100 concurrent executions unreserved (PutFunctionConcurrency fails otherwise).
LAMBDA_UNRESERVED_MINIMUM = 100
# Availability Zone IDs that CloudFront VPC origins do not support, from
# "Restrict access with VPC origins" (CloudFront Developer Guide, supported
# Regions section). Zone *names* map to different IDs in each account, so the
# check maps the chosen name to its ID first. There is no API for this list:
# keep it in step with that page (docs/decisions.md).
UNSUPPORTED_VPC_ORIGIN_ZONE_IDS = frozenset({"use1-az3"})
QUOTA_VPCS_PER_REGION = ("vpc", "L-F678F1CE")
QUOTA_INTERFACE_ENDPOINTS_PER_VPC = ("vpc", "L-29B6F2EB")
QUOTA_RULES_PER_SECURITY_GROUP = ("vpc", "L-0EA8095F")
BAD_STACK_STATES = {
    "ROLLBACK_COMPLETE": "the first create failed and rolled back; delete it, then deploy again: "
    "aws cloudformation delete-stack --stack-name {stack}",
    "ROLLBACK_FAILED": "the rollback of a failed create could not delete everything; delete the stack, "
    "retaining what it names: aws cloudformation delete-stack --stack-name {stack} "
    "--retain-resources <LogicalIds from the error> (docs/deploy.md, 'Known failures')",
    "DELETE_FAILED": "an earlier delete stopped; finish it: aws cloudformation delete-stack --stack-name {stack} "
    "--retain-resources <LogicalIds from the error>",
    "UPDATE_ROLLBACK_FAILED": "aws cloudformation continue-update-rollback --stack-name {stack}",
}


@dataclass
class Result:
    name: str
    ok: bool
    detail: str
    fix: str = ""

    def lines(self) -> list[str]:
        out = [f"{'PASS' if self.ok else 'FAIL'}  {self.name}: {self.detail}"]
        if not self.ok and self.fix:
            out.append(f"      fix: {self.fix}")
        return out


class Preflight:
    def __init__(
        self,
        session,
        config,
        *,
        stack: str = "ClinicStack",
        bootstrap_version: int = DEFAULT_BOOTSTRAP_VERSION,
        runtime: str | None = None,
        clients: dict | None = None,
    ) -> None:
        from stacks.clinic_server import CLOUDFRONT_PREFIX_LIST_WEIGHT
        from stacks.network import INTERFACE_ENDPOINTS
        from stacks.photo_processor import ARCHITECTURE, RUNTIME

        self.session = session
        self.config = config
        self.stack = stack
        self.bootstrap_version = bootstrap_version
        self.runtime = runtime or RUNTIME.name
        self.architecture = ARCHITECTURE.name
        self.interface_endpoints = len(INTERFACE_ENDPOINTS)
        self.prefix_list_weight = CLOUDFRONT_PREFIX_LIST_WEIGHT
        self._clients = dict(clients or {})
        # boto3 reads AWS_DEFAULT_REGION; the AWS CLI v2 and the CDK CLI also AWS_REGION.
        self.region = session.region_name or os.environ.get("AWS_REGION")
        self.zone_name: str | None = None

    def client(self, service: str):
        if service not in self._clients:
            self._clients[service] = self.session.client(service, region_name=self.region)
        return self._clients[service]

    def checks(self) -> list[tuple[str, Callable[[], Result]]]:
        return [
            ("credentials and region", self.credentials_and_region),
            ("CDK bootstrap", self.cdk_bootstrap),
            ("Lambda concurrency", self.lambda_concurrency),
            ("Availability Zone for VPC origins", self.zone_supports_vpc_origins),
            ("instance type in the zone", self.instance_type_offered),
            ("Lambda runtime and arm64", self.lambda_runtime),
            ("names left by earlier stacks", self.leftovers),
            ("VPC quota", self.vpc_quota),
            ("endpoint and security-group quotas", self.endpoint_and_rule_quotas),
        ]

    def run(self) -> list[Result]:
        results = []
        for name, check in self.checks():
            try:
                results.append(check())
            except Exception as error:  # noqa: BLE001 - a check that cannot run is a FAIL with its reason
                results.append(Result(name, False, f"could not check: {_short(error)}", _fix_for(error)))
            if name == "credentials and region" and not results[-1].ok:
                break  # nothing else can run without them
        return results

    # ------------------------------------------------------------ checks
    def credentials_and_region(self) -> Result:
        name = "credentials and region"
        if not self.region:
            return Result(name, False, "no region configured", "export AWS_REGION=sa-east-1 AWS_DEFAULT_REGION=sa-east-1 (or aws configure)")
        identity = self.client("sts").get_caller_identity()
        self.account = identity["Account"]
        return Result(name, True, f"account {identity['Account']} as {identity['Arn']}, region {self.region}")

    def cdk_bootstrap(self) -> Result:
        name = "CDK bootstrap"
        parameter = f"/cdk-bootstrap/{BOOTSTRAP_QUALIFIER}/version"
        fix = f"npx cdk bootstrap aws://{getattr(self, 'account', '<account>')}/{self.region}"
        ssm = self.client("ssm")
        try:
            value = ssm.get_parameter(Name=parameter)["Parameter"]["Value"]
        except ssm.exceptions.ParameterNotFound:
            return Result(name, False, f"{parameter} not found: this account/region was never bootstrapped", fix)
        if not value.isdigit() or int(value) < self.bootstrap_version:
            return Result(name, False, f"bootstrap version {value}, this app needs >= {self.bootstrap_version}", fix)
        return Result(name, True, f"version {value} (needs >= {self.bootstrap_version})")

    def lambda_concurrency(self) -> Result:
        name = "Lambda concurrency"
        settings = self.client("lambda").get_account_settings()
        total = settings["AccountLimit"]["ConcurrentExecutions"]
        unreserved = settings["AccountLimit"]["UnreservedConcurrentExecutions"]
        wanted = self.config.processor_reserved_concurrency
        if wanted is None:
            return Result(name, True, f"account total {total}, unreserved {unreserved}; no reservation asked (default)")
        if unreserved - wanted < LAMBDA_UNRESERVED_MINIMUM:
            return Result(
                name,
                False,
                f"reserving {wanted} would leave {unreserved - wanted} unreserved; Lambda requires "
                f"{LAMBDA_UNRESERVED_MINIMUM} (account total {total})",
                "set clinic.processor_reserved_concurrency to null in cdk.json, or ask Service Quotas for a "
                "higher 'Concurrent executions' (Lambda) and deploy once it is granted",
            )
        return Result(name, True, f"reserving {wanted} leaves {unreserved - wanted} unreserved (account total {total})")

    def _zones(self) -> list[dict]:
        zones = self.client("ec2").describe_availability_zones(
            Filters=[{"Name": "zone-type", "Values": ["availability-zone"]}]
        )["AvailabilityZones"]
        return sorted((z for z in zones if z.get("State") == "available"), key=lambda z: z["ZoneName"])

    def zone_supports_vpc_origins(self) -> Result:
        name = "Availability Zone for VPC origins"
        zones = self._zones()
        by_name = {z["ZoneName"]: z["ZoneId"] for z in zones}
        supported = [n for n, i in by_name.items() if i not in UNSUPPORTED_VPC_ORIGIN_ZONE_IDS]
        if self.config.mode == "ha":
            return self._ha_zones(name, zones)
        chosen = self.config.availability_zone
        how = "cdk.json clinic.availability_zone"
        if chosen is None:
            # Fn::GetAZs lists the region's zones by name; the VPC takes the first.
            chosen, how = (zones[0]["ZoneName"] if zones else None), "first zone of the region (no clinic.availability_zone)"
        fix = f"set clinic.availability_zone in cdk.json to one of: {', '.join(supported) or '(none here)'}"
        if chosen not in by_name:
            return Result(name, False, f"{chosen} ({how}) is not an available zone of {self.region}", fix)
        self.zone_name = chosen
        zone_id = by_name[chosen]
        if zone_id in UNSUPPORTED_VPC_ORIGIN_ZONE_IDS:
            return Result(name, False, f"{chosen} is zone id {zone_id} ({how}): CloudFront VPC origins do not support it", fix)
        return Result(name, True, f"{chosen} = zone id {zone_id} ({how}); set it in cdk.json to pin it")

    def _ha_zones(self, name: str, zones: list[dict]) -> Result:
        """Mode ha spans the region's first two zones (Fn::GetAZs order); the internal ALB
        in both is the VPC origin, so both zone ids must be supported."""
        pair = zones[:2]
        fix = "deploy mode ha in another region, or mode single with clinic.availability_zone in a supported zone"
        if len(pair) < 2:
            return Result(name, False, f"mode ha needs two available zones; {self.region} has {len(pair)}", fix)
        bad = [z for z in pair if z["ZoneId"] in UNSUPPORTED_VPC_ORIGIN_ZONE_IDS]
        shown = ", ".join(f"{z['ZoneName']} = zone id {z['ZoneId']}" for z in pair)
        if bad:
            return Result(name, False, f"mode ha uses {shown}: CloudFront VPC origins do not support "
                                       f"{', '.join(z['ZoneId'] for z in bad)}", fix)
        self.zone_name = pair[0]["ZoneName"]
        return Result(name, True, f"mode ha uses {shown}")

    def instance_type_offered(self) -> Result:
        name = "instance type in the zone"
        wanted = self.config.instance_type
        if self.zone_name is None:
            return Result(name, False, "no usable zone (see the zone check)", "fix the zone check first")
        offers = self.client("ec2").describe_instance_type_offerings(
            LocationType="availability-zone",
            Filters=[{"Name": "instance-type", "Values": [wanted]}],
        )["InstanceTypeOfferings"]
        where = sorted({o["Location"] for o in offers})
        if self.zone_name not in where:
            return Result(
                name,
                False,
                f"{wanted} is not offered in {self.zone_name}",
                f"choose another zone ({', '.join(where) or 'none in this region'}) or another Graviton type "
                "in clinic.instance_type",
            )
        return Result(name, True, f"{wanted} offered in {self.zone_name}")

    def lambda_runtime(self) -> Result:
        """The region offers Lambda, and the API knows the runtime and arm64.

        No read-only API says whether a runtime is offered in a region; the
        public SSM global-infrastructure parameters say whether Lambda is, and
        the service model (the same one CloudFormation's handler validates
        against) lists the runtimes and architectures.
        """
        name = "Lambda runtime and arm64"
        ssm = self.client("ssm")
        path = f"/aws/service/global-infrastructure/regions/{self.region}/services/lambda"
        try:
            ssm.get_parameter(Name=path)
        except ssm.exceptions.ParameterNotFound:
            return Result(name, False, f"Lambda is not offered in {self.region}", "deploy to a region that offers Lambda")
        model = self.client("lambda").meta.service_model.shape_for("Runtime").enum
        architectures = self.client("lambda").meta.service_model.shape_for("Architecture").enum
        if self.runtime not in model:
            return Result(
                name,
                False,
                f"runtime {self.runtime} unknown to the Lambda API (botocore {_botocore_version()})",
                "pip install -U boto3 botocore, or pin an older runtime in stacks/photo_processor.py",
            )
        if self.architecture not in architectures:
            return Result(name, False, f"architecture {self.architecture} unknown to the Lambda API", "pip install -U botocore")
        return Result(name, True, f"{self.runtime} on {self.architecture} in {self.region}")

    def leftovers(self) -> Result:
        """What an earlier stack of this name left that would block the deploy (or just cost money)."""
        from stacks.naming import data_key_alias, photo_bucket_prefix, vault_name_prefix

        name = "names left by earlier stacks"
        cfn = self.client("cloudformation")
        try:
            stack = cfn.describe_stacks(StackName=self.stack)["Stacks"][0]
            status = stack["StackStatus"]
        except cfn.exceptions.ClientError as error:
            if "does not exist" not in str(error):
                raise
            status = None
        if status in BAD_STACK_STATES:
            return Result(name, False, f"stack {self.stack} is {status}", BAD_STACK_STATES[status].format(stack=self.stack))
        if status and status.endswith("_IN_PROGRESS"):
            return Result(name, False, f"stack {self.stack} is {status}", "wait for it to finish (aws cloudformation describe-stack-events)")
        notes = []
        if status is None:
            alias = data_key_alias(self.stack)
            aliases = [a["AliasName"] for page in self.client("kms").get_paginator("list_aliases").paginate() for a in page["Aliases"]]
            if alias in aliases:
                return Result(
                    name,
                    False,
                    f"{alias} exists but stack {self.stack} does not: the new key's alias would collide",
                    f"aws kms delete-alias --alias-name {alias}  (the retained key itself stays; docs/deploy.md)",
                )
        buckets = [b["Name"] for b in self.client("s3").list_buckets().get("Buckets", [])]
        retained = [b for b in buckets if b.startswith(photo_bucket_prefix(self.stack))]
        vaults = [
            v["BackupVaultName"]
            for v in self.client("backup").list_backup_vaults().get("BackupVaultList", [])
            if v["BackupVaultName"].startswith(vault_name_prefix(self.stack))
        ]
        if retained or vaults:
            notes.append(
                f"{len(retained)} bucket(s) and {len(vaults)} vault(s) kept by earlier stacks; names differ per "
                "stack, so they do not block this deploy (they cost money: docs/deploy.md, 'Deleting everything')"
            )
        detail = f"stack {self.stack} is {status}" if status else f"no stack {self.stack} yet"
        return Result(name, True, "; ".join([detail, *notes]))

    def _quota(self, code: tuple[str, str]) -> float:
        quotas = self.client("service-quotas")
        try:
            return quotas.get_service_quota(ServiceCode=code[0], QuotaCode=code[1])["Quota"]["Value"]
        except quotas.exceptions.NoSuchResourceException:
            return quotas.get_aws_default_service_quota(ServiceCode=code[0], QuotaCode=code[1])["Quota"]["Value"]

    def vpc_quota(self) -> Result:
        name = "VPC quota"
        limit = int(self._quota(QUOTA_VPCS_PER_REGION))
        used = len(self.client("ec2").describe_vpcs()["Vpcs"])
        if used + 1 > limit:
            return Result(
                name,
                False,
                f"{used} VPCs of {limit} allowed in {self.region}; the stack needs one more",
                "delete an unused VPC or request a higher 'VPCs per Region' in Service Quotas",
            )
        return Result(name, True, f"{used} of {limit} VPCs used; the stack adds 1")

    def endpoint_and_rule_quotas(self) -> Result:
        name = "endpoint and security-group quotas"
        endpoints = int(self._quota(QUOTA_INTERFACE_ENDPOINTS_PER_VPC))
        rules = int(self._quota(QUOTA_RULES_PER_SECURITY_GROUP))
        problems = []
        if endpoints < self.interface_endpoints:
            problems.append(f"{endpoints} interface endpoints per VPC allowed, the stack creates {self.interface_endpoints}")
        if rules < self.prefix_list_weight:
            problems.append(
                f"{rules} rules per security group allowed; CloudFront's prefix list alone weighs {self.prefix_list_weight}"
            )
        if problems:
            return Result(name, False, "; ".join(problems), "request higher values in Service Quotas (Amazon VPC)")
        return Result(
            name,
            True,
            f"{self.interface_endpoints} of {endpoints} interface endpoints; prefix list weight "
            f"{self.prefix_list_weight} of {rules} inbound rules",
        )


def _short(error: Exception) -> str:
    return str(error).splitlines()[0][:300] if str(error) else type(error).__name__


def _fix_for(error: Exception) -> str:
    text = str(error)
    if "AccessDenied" in text or "UnauthorizedOperation" in text or "not authorized" in text:
        return "the credentials lack this read permission (ReadOnlyAccess covers every check)"
    if "credentials" in text.lower():
        return "configure credentials: aws configure / aws sso login / export AWS_PROFILE=..."
    return "see the error above"


def _botocore_version() -> str:
    import botocore

    return botocore.__version__


def required_bootstrap_version(cdk_out: Path = REPO / "cdk.out") -> int:
    """What the synthesized app asks of the bootstrap stack (default when not synthesized yet)."""
    manifest = cdk_out / "manifest.json"
    if manifest.exists():
        versions = [
            a.get("properties", {}).get("requiresBootstrapStackVersion", 0)
            for a in json.loads(manifest.read_text()).get("artifacts", {}).values()
        ]
        if any(versions):
            return max(versions)
    return DEFAULT_BOOTSTRAP_VERSION


def load_settings(overrides: list[str]):
    """The same validated settings the synth uses: cdk.json's context plus `-c key=value`."""
    import aws_cdk as cdk

    from stacks.config import load_config

    context = json.loads((REPO / "cdk.json").read_text())["context"]
    for item in overrides:
        key, _, value = item.partition("=")
        context[key] = value
    return load_config(cdk.App(context=context).node)


def main(argv: list[str] | None = None, session=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", default="ClinicStack")
    parser.add_argument("-c", "--context", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    from stacks.config import ConfigError

    try:
        config = load_settings(args.context)
    except ConfigError as error:
        print(f"FAIL  settings: {error}")
        return 1
    if session is None:
        import boto3

        session = boto3.session.Session()
    results = Preflight(session, config, stack=args.stack, bootstrap_version=required_bootstrap_version()).run()
    for result in results:
        print("\n".join(result.lines()))
    failed = [r for r in results if not r.ok]
    print(f">> preflight: {len(results) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
