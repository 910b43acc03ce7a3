"""cdk-nag's AwsSolutions pack runs on every synth and every acknowledgement is precise."""

from __future__ import annotations

import json

import aws_cdk
import pytest
from aws_cdk import aws_iam as iam

from .conftest import REPO

FINDING_LEVEL_RULES = ("AwsSolutions-IAM4", "AwsSolutions-IAM5")


def _app(tmp_path):
    from app import build_app

    return build_app(context=json.loads((REPO / "cdk.json").read_text())["context"], outdir=str(tmp_path))


def test_an_unacknowledged_finding_fails_the_synth(tmp_path):
    app = _app(tmp_path)
    stack = app.node.find_child("ClinicStack")
    role = iam.Role(stack, "TooBroad", assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"))
    role.add_to_policy(iam.PolicyStatement(actions=["s3:*"], resources=["*"]))
    with pytest.raises(Exception, match="Validation ?[Ff]ailed"):
        app.synth()
    report = (tmp_path / "validation-report.json").read_text()
    assert "AwsSolutions-IAM5[Action::s3:*]" in report


def test_every_acknowledgement_names_the_finding_and_gives_a_reason(tmp_path):
    app = _app(tmp_path)
    key = aws_cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY
    acknowledgements = [
        (construct.node.path, rule, reason)
        for construct in app.node.find_all()
        for entry in construct.node.metadata
        if entry.type == key
        for rule, reason in entry.data.items()
    ]
    nag = [a for a in acknowledgements if "AwsSolutions-" in a[1]]
    assert nag, "no cdk-nag acknowledgements found: is the metadata key still the same?"
    for path, rule, reason in nag:
        assert len(reason) >= 60, f"{path}: {rule} needs a reason a reviewer would accept"
        if rule.split("::")[-1].split("[")[0] in FINDING_LEVEL_RULES:
            assert "[" in rule and rule.endswith("]"), f"{path}: {rule} must name the exact finding"
    # Nothing acknowledged for the whole stack or app at once.
    assert not [a for a in nag if a[0] in ("", "ClinicStack")]
