"""Draw images/architecture.png from code (`make diagram`).

Every AWS box is declared in NODES with the CloudFormation type it stands
for; tests/infra/test_diagram_drift.py checks each type exists in the
synthesized template, so the picture cannot show something the stack lacks.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUTPUT = REPO / "images" / "architecture"


@dataclass(frozen=True)
class Node:
    key: str
    label: str
    icon: str  # "module:Class" in the diagrams package
    cfn_type: str | None  # None only for things outside AWS (the staff's browser)


NODES = [
    Node("staff", "Clinic staff\n(browser)", "diagrams.onprem.client:Users", None),
    Node("front_door", "CloudFront\n(HTTPS, VPC origin)", "diagrams.aws.network:CloudFront", "AWS::CloudFront::Distribution"),
    Node("vpc_origin", "VPC origin", "diagrams.aws.network:Endpoint", "AWS::CloudFront::VpcOrigin"),
    Node("server", "EC2 t4g.small\nnginx + gunicorn + Django", "diagrams.aws.compute:EC2", "AWS::EC2::Instance"),
    Node("volume", "EBS gp3 /data\nSQLite + logs", "diagrams.aws.storage:EBS", "AWS::EC2::Volume"),
    Node("key", "KMS key\n(rotating)", "diagrams.aws.security:KMS", "AWS::KMS::Key"),
    Node("snapshots", "AWS Backup\ndaily snapshots", "diagrams.aws.storage:Backup", "AWS::Backup::BackupPlan"),
    Node("secrets", "Secrets Manager\nDjango key, admin password", "diagrams.aws.security:SecretsManager", "AWS::SecretsManager::Secret"),
    Node("uploads", "S3 uploads/", "diagrams.aws.storage:SimpleStorageServiceS3Bucket", "AWS::S3::Bucket"),
    Node("processor", "Lambda photo processor\n(Pillow layer, arm64)", "diagrams.aws.compute:Lambda", "AWS::Lambda::Function"),
    Node("layer", "Pillow layer", "diagrams.aws.compute:LambdaFunction", "AWS::Lambda::LayerVersion"),
    Node("failures", "SQS failed events", "diagrams.aws.integration:SQS", "AWS::SQS::Queue"),
    Node("processed", "S3 processed/\nrenditions + manifest.json", "diagrams.aws.storage:SimpleStorageServiceS3BucketWithObjects", "AWS::S3::Bucket"),
]

# (from, to, label): the numbered flow of the design.
FLOW = [
    ("staff", "front_door", "1. sign in, register animal + tutor"),
    ("front_door", "vpc_origin", ""),
    ("vpc_origin", "server", "1"),
    ("server", "staff", "2. presigned POST"),
    ("staff", "uploads", "3. photo straight to S3"),
    ("uploads", "processor", "4. ObjectCreated uploads/"),
    ("processor", "processed", "5. resized, oriented, EXIF-free"),
    ("server", "processed", "6. manifest -> thumbnail (presigned GET)"),
    ("server", "volume", "records + photo metadata"),
]
LINKS = [("layer", "processor"), ("processor", "failures"), ("key", "volume"), ("volume", "snapshots"), ("secrets", "server")]


def cfn_types() -> set[str]:
    return {n.cfn_type for n in NODES if n.cfn_type}


def _icon(spec: str):
    import importlib

    module, cls = spec.split(":")
    return getattr(importlib.import_module(module), cls)


def render(output: Path = OUTPUT) -> Path:
    from diagrams import Cluster, Diagram, Edge

    output.parent.mkdir(parents=True, exist_ok=True)
    made = {}
    attrs = {"fontsize": "13", "pad": "0.4", "splines": "spline", "nodesep": "0.7", "ranksep": "1.0"}
    with Diagram("Sistema da Clínica on AWS", filename=str(output), outformat="png", show=False, direction="LR", graph_attr=attrs):
        made["staff"] = _icon(_node("staff").icon)(_node("staff").label)
        made["front_door"] = _make("front_door")
        with Cluster("VPC (no NAT; isolated app subnet, S3 + API endpoints)"):
            made["vpc_origin"] = _make("vpc_origin")
            made["server"] = _make("server")
            made["volume"] = _make("volume")
        for key in ("key", "snapshots", "secrets"):
            made[key] = _make(key)
        with Cluster("Photo bucket (private, versioned, TLS-only)"):
            made["uploads"] = _make("uploads")
            made["processed"] = _make("processed")
        with Cluster("Photo processor"):
            made["processor"] = _make("processor")
            made["layer"] = _make("layer")
            made["failures"] = _make("failures")
        for source, target, label in FLOW:
            made[source] >> Edge(label=label, color="darkgreen", fontcolor="darkgreen") >> made[target]
        for source, target in LINKS:
            made[source] >> Edge(style="dashed", color="gray40") >> made[target]
    return output.with_suffix(".png")


def _node(key: str) -> Node:
    return next(n for n in NODES if n.key == key)


def _make(key: str):
    node = _node(key)
    return _icon(node.icon)(node.label)


if __name__ == "__main__":
    path = render(Path(sys.argv[1]) if len(sys.argv) > 1 else OUTPUT)
    print(f">> wrote {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")
