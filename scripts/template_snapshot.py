"""Normalised snapshots of the synthesized templates, for reviewers.

`make snapshot` writes tests/snapshots/<Stack>.template.json from a fresh
synth (and refuses, exit 3, when the change would replace the instance, the
data volume or another stateful resource, unless --allow-replacement); tests/infra/test_template_snapshot.py fails with a readable diff when
the synthesized template no longer matches, so every infrastructure change
shows up in the pull request. Asset hashes and other values that change
without a real infrastructure change are blanked.
"""

from __future__ import annotations

import difflib
import json
import re
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SNAPSHOT_DIR = REPO / "tests" / "snapshots"
_HASH = re.compile(r"\b[0-9a-f]{64}\b")
_VOLATILE_METADATA = ("aws:asset:path", "aws:asset:property", "aws:asset:is-bundled", "aws:cdk:path")

# Stateful resource types and the properties whose change makes CloudFormation
# REPLACE the resource ("Update requires: Replacement" in each type's page of
# the CloudFormation template reference; docs/decisions.md cites them). A new
# instance cannot attach the data volume the old one still holds, and a new
# volume/bucket/key/vault starts empty.
REPLACING_PROPERTIES: dict[str, tuple[str, ...]] = {
    "AWS::EC2::Instance": (
        "AvailabilityZone", "BlockDeviceMappings", "CpuOptions", "ElasticGpuSpecifications",
        "ElasticInferenceAccelerators", "EnclaveOptions", "HibernationOptions", "HostResourceGroupArn",
        "ImageId", "Ipv6AddressCount", "Ipv6Addresses", "KeyName", "LaunchTemplate", "LicenseSpecifications",
        "NetworkInterfaces", "PlacementGroupName", "PrivateIpAddress", "SecurityGroups", "SubnetId",
    ),
    "AWS::EC2::Volume": ("AvailabilityZone", "Encrypted", "KmsKeyId", "OutpostArn", "SnapshotId"),
    "AWS::S3::Bucket": ("BucketName", "ObjectLockEnabled"),
    "AWS::KMS::Key": ("KeySpec", "KeyUsage", "MultiRegion"),
    "AWS::Backup::BackupVault": ("BackupVaultName", "EncryptionKeyArn"),
    "AWS::SecretsManager::Secret": ("Name",),
    # Mode ha's database (AWS::RDS::DBInstance reference: "If a DB instance is
    # deleted or replaced during an update, AWS CloudFormation deletes all
    # automated snapshots"); AWS Backup's vault keeps its own recovery points.
    "AWS::RDS::DBInstance": (
        "DBInstanceIdentifier", "DBName", "KmsKeyId", "StorageEncrypted", "MasterUsername",
        "DBSubnetGroupName", "CharacterSetName", "AvailabilityZone",
    ),
}  # fmt: skip

# Each shape of the stack and the snapshot it is compared with: the default
# (cdk.json as committed) and mode ha (`-c clinic.mode=ha`).
VARIANTS: dict[str, dict] = {
    "ClinicStack.template.json": {},
    "ClinicStack-ha.template.json": {"clinic.mode": "ha"},
}


def normalise(template: dict) -> dict:
    def walk(node):
        if isinstance(node, dict):
            return {_HASH.sub("<asset-hash>", k): walk(v) for k, v in node.items() if k not in _VOLATILE_METADATA}
        if isinstance(node, list):
            return [walk(v) for v in node]
        if isinstance(node, str):
            return _HASH.sub("<asset-hash>", node)
        return node

    return walk(template)


def render(template: dict) -> str:
    return json.dumps(normalise(template), indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def synth_templates(outdir: Path) -> dict[str, dict]:
    from app import build_app  # run as `python -m scripts.template_snapshot` from the repo root

    base = json.loads((REPO / "cdk.json").read_text())["context"]
    templates = {}
    for name, extra in VARIANTS.items():
        out = outdir / name.removesuffix(".template.json")
        build_app(context={**base, **extra}, outdir=str(out)).synth()
        templates[name] = json.loads((out / "ClinicStack.template.json").read_text())
    return templates


def diff(name: str, template: dict) -> str:
    """A unified diff from the committed snapshot to this template ('' when equal)."""
    snapshot = SNAPSHOT_DIR / name
    old = snapshot.read_text() if snapshot.exists() else ""
    new = render(template)
    return "".join(
        difflib.unified_diff(old.splitlines(True), new.splitlines(True), f"snapshot/{name}", f"synth/{name}", n=4)
    )


def _ignoring_delete_on_termination(mappings):
    """BlockDeviceMappings without DeleteOnTermination: changing only that flag is no replacement."""
    if not isinstance(mappings, list):
        return mappings
    out = []
    for m in mappings:
        m = dict(m)
        if isinstance(m.get("Ebs"), dict):
            m["Ebs"] = {k: v for k, v in m["Ebs"].items() if k != "DeleteOnTermination"}
        out.append(m)
    return out


def replacements(old: dict, new: dict) -> list[str]:
    """Why `new` would replace (or delete) stateful resources of `old`: one line each, [] when safe."""
    old, new = normalise(old), normalise(new)
    found = []
    new_resources = new.get("Resources", {})
    for logical_id, resource in sorted(old.get("Resources", {}).items()):
        type_ = resource.get("Type")
        if type_ not in REPLACING_PROPERTIES:
            continue
        after = new_resources.get(logical_id)
        if after is None or after.get("Type") != type_:
            found.append(f"{type_} {logical_id} is gone from the template: it would be DELETED or replaced")
            continue
        for prop in REPLACING_PROPERTIES[type_]:
            before_value = resource.get("Properties", {}).get(prop)
            after_value = after.get("Properties", {}).get(prop)
            if prop == "BlockDeviceMappings":
                before_value = _ignoring_delete_on_termination(before_value)
                after_value = _ignoring_delete_on_termination(after_value)
            if before_value != after_value:
                found.append(
                    f"{type_} {logical_id}: {prop} changes "
                    f"({json.dumps(before_value, sort_keys=True)[:120]} -> {json.dumps(after_value, sort_keys=True)[:120]}); "
                    "CloudFormation would REPLACE it"
                )
    return found


def snapshot_template(name: str) -> dict | None:
    path = SNAPSHOT_DIR / name
    return json.loads(path.read_text()) if path.exists() else None


BANNER = "!" * 78


def report_replacements(name: str, template: dict) -> list[str]:
    """Print a loud warning for every replacement against the snapshot; return the lines."""
    old = snapshot_template(name)
    found = replacements(old, template) if old else []
    if found:
        print(BANNER)
        print(f"!! {name}: THIS CHANGE REPLACES STATEFUL RESOURCES")
        for line in found:
            print(f"!!   {line}")
        print("!! A new instance cannot attach the data volume the old one holds; a new volume,")
        print("!! bucket, key or vault starts empty. See docs/operations.md, 'Moving the data volume'.")
        print(BANNER)
    return found


def main(argv: list[str]) -> int:
    update = "--update" in argv
    allow_replacement = "--allow-replacement" in argv
    with tempfile.TemporaryDirectory() as tmp:
        templates = synth_templates(Path(tmp))
    changed = 0
    for name, template in templates.items():
        text = diff(name, template)
        if not text:
            print(f">> {name}: no change against the snapshot")
            continue
        changed += 1
        if update:
            if report_replacements(name, template) and not allow_replacement:
                print(f">> {name}: snapshot NOT updated: add --allow-replacement once the move is planned")
                return 3
            SNAPSHOT_DIR.mkdir(parents=True, exist_ok=True)
            (SNAPSHOT_DIR / name).write_text(render(template))
            print(f">> {name}: snapshot updated; review and commit tests/snapshots/{name}")
        else:
            if "--replacements-only" not in argv:
                sys.stdout.write(text)
            # Last, so it is what the reviewer sees at the bottom of the diff.
            if report_replacements(name, template):
                return 3
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
