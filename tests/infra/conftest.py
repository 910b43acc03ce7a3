"""Synthesize the clinic stack once per session, nag checks included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def synth(outdir: Path, context: dict | None = None) -> dict:
    from app import build_app

    base = json.loads((REPO / "cdk.json").read_text())["context"]
    app = build_app(context={**base, **(context or {})}, outdir=str(outdir))
    app.synth()  # runs cdk-nag; an unacknowledged finding raises here
    return json.loads((outdir / "ClinicStack.template.json").read_text())


@pytest.fixture(scope="session")
def cdk_out(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cdk.out")
    synth(out)
    return out


@pytest.fixture(scope="session")
def template_json(cdk_out: Path) -> dict:
    return json.loads((cdk_out / "ClinicStack.template.json").read_text())


@pytest.fixture(scope="session")
def template(template_json: dict):
    from aws_cdk.assertions import Template

    return Template.from_json(template_json)


def resources_of(template_json: dict, type_: str) -> dict[str, dict]:
    return {k: v for k, v in template_json["Resources"].items() if v["Type"] == type_}


def only(template_json: dict, type_: str, where=lambda r: True) -> tuple[str, dict]:
    found = [(k, v) for k, v in resources_of(template_json, type_).items() if where(v)]
    assert len(found) == 1, f"expected one {type_}, found {[k for k, _ in found]}"
    return found[0]


def photo_bucket(template_json: dict) -> tuple[str, dict]:
    return only(template_json, "AWS::S3::Bucket", lambda r: "BucketName" in r["Properties"])


def processor(template_json: dict) -> tuple[str, dict]:
    return only(template_json, "AWS::Lambda::Function", lambda r: r["Properties"].get("Handler") == "handler.handler")


def instance(template_json: dict) -> tuple[str, dict]:
    return only(template_json, "AWS::EC2::Instance")


def policy_of_role(template_json: dict, role_id: str) -> list[dict]:
    statements = []
    for res in resources_of(template_json, "AWS::IAM::Policy").values():
        if {"Ref": role_id} in res["Properties"]["Roles"]:
            statements += res["Properties"]["PolicyDocument"]["Statement"]
    return statements


def actions_of(statement: dict) -> list[str]:
    """IAM allows a single action as a string or several as a list."""
    action = statement["Action"]
    return action if isinstance(action, list) else [action]
