"""AWS WAF in front of CloudFront (issue 13): managed rule groups, a sign-in rate limit, us-east-1 only."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest

from stacks.clinic_stack import ClinicStack
from stacks.config import ConfigError
from stacks.waf import SIGN_IN_RATE_LIMIT

from .conftest import REPO, only, resources_of, synth


def _acl(template_json):
    return only(template_json, "AWS::WAFv2::WebACL")


def _rules(template_json) -> dict[str, dict]:
    return {r["Name"]: r for r in _acl(template_json)[1]["Properties"]["Rules"]}


def _sign_in_paths():
    namespace = {}
    exec((REPO / "clinic_app" / "clinic" / "paths.py").read_text(), namespace)
    return namespace["SIGN_IN_PATHS"]


def test_web_acl_is_cloudfront_scoped_and_allows_by_default(template_json):
    _, acl = _acl(template_json)
    assert acl["Properties"]["Scope"] == "CLOUDFRONT"
    assert acl["Properties"]["DefaultAction"] == {"Allow": {}}
    assert acl["Properties"]["VisibilityConfig"]["CloudWatchMetricsEnabled"] is True


def test_distribution_uses_the_web_acl(template_json):
    acl_id, _ = _acl(template_json)
    _, dist = only(template_json, "AWS::CloudFront::Distribution")
    assert dist["Properties"]["DistributionConfig"]["WebACLId"] == {"Fn::GetAtt": [acl_id, "Arn"]}


@pytest.mark.parametrize("group", ["AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet",
                                   "AWSManagedRulesAmazonIpReputationList"])
def test_managed_rule_groups_block(template_json, group):
    rule = _rules(template_json)[group]
    statement = rule["Statement"]["ManagedRuleGroupStatement"]
    assert statement["VendorName"] == "AWS" and statement["Name"] == group
    assert rule["OverrideAction"] == {"None": {}}  # the group's own Block actions apply
    assert rule["VisibilityConfig"]["SampledRequestsEnabled"] is True


def test_only_the_body_size_rule_is_counted(template_json):
    overrides = {name: r["Statement"]["ManagedRuleGroupStatement"].get("RuleActionOverrides", [])
                 for name, r in _rules(template_json).items() if "ManagedRuleGroupStatement" in r["Statement"]}
    assert overrides["AWSManagedRulesCommonRuleSet"] == [{"Name": "SizeRestrictions_BODY", "ActionToUse": {"Count": {}}}]
    assert overrides["AWSManagedRulesKnownBadInputsRuleSet"] == []
    assert overrides["AWSManagedRulesAmazonIpReputationList"] == []


def test_rate_limit_on_sign_in_posts_per_ip(template_json):
    rule = _rules(template_json)["SignInRateLimit"]
    assert rule["Priority"] == 0
    assert rule["Action"] == {"Block": {"CustomResponse": {"ResponseCode": 429}}}
    rate = rule["Statement"]["RateBasedStatement"]
    assert rate["AggregateKeyType"] == "IP"
    assert rate["Limit"] == SIGN_IN_RATE_LIMIT and 10 <= rate["Limit"]
    assert rate["EvaluationWindowSec"] == 300
    method, paths = rate["ScopeDownStatement"]["AndStatement"]["Statements"]
    assert method["ByteMatchStatement"]["SearchString"] == "POST"
    assert method["ByteMatchStatement"]["FieldToMatch"] == {"Method": {}}
    matched = [s["ByteMatchStatement"] for s in paths["OrStatement"]["Statements"]]
    assert {m["SearchString"] for m in matched} == set(_sign_in_paths()) == {"/entrar/", "/admin/login/"}
    assert all(m["PositionalConstraint"] == "STARTS_WITH" and m["FieldToMatch"] == {"UriPath": {}} for m in matched)


def test_sign_in_paths_are_the_apps():
    from django.urls import reverse

    assert reverse("login") in _sign_in_paths()
    assert reverse("admin:login") in _sign_in_paths()


def test_template_refuses_to_deploy_outside_us_east_1(template_json):
    rule = template_json["Rules"]["WafNeedsUsEast1"]
    (assertion,) = rule["Assertions"]
    assert assertion["Assert"] == {"Fn::Contains": [["us-east-1"], {"Ref": "AWS::Region"}]}
    assert "us-east-1" in assertion["AssertDescription"] and "waf_enabled" in assertion["AssertDescription"]


def test_waf_can_be_turned_off(tmp_path):
    template_json = synth(tmp_path, {"clinic": {**_clinic(), "waf_enabled": False}})  # nag still passes
    assert not resources_of(template_json, "AWS::WAFv2::WebACL")
    assert "WafNeedsUsEast1" not in template_json.get("Rules", {})
    _, dist = only(template_json, "AWS::CloudFront::Distribution")
    assert "WebACLId" not in dist["Properties"]["DistributionConfig"]


@pytest.mark.parametrize("value", ["maybe", 1, None])
def test_bad_waf_enabled_names_the_key(tmp_path, value):
    clinic = {**_clinic(), "waf_enabled": value}
    if value is None:
        clinic["waf_enabled"] = []
    with pytest.raises(ConfigError, match=r"'clinic\.waf_enabled' must be true or false"):
        synth(tmp_path, {"clinic": clinic})


def _clinic():
    return json.loads((REPO / "cdk.json").read_text())["context"]["clinic"]


def _stack_in(region: str, waf: bool):
    base = json.loads((REPO / "cdk.json").read_text())["context"]
    app = cdk.App(context={**base, "clinic": {**base["clinic"], "waf_enabled": waf}})
    return ClinicStack(app, "ClinicStack", env=cdk.Environment(region=region))


def test_waf_in_another_known_region_stops_the_synth_naming_the_key():
    with pytest.raises(ConfigError, match=r"'clinic\.waf_enabled' needs the stack in us-east-1.*sa-east-1"):
        _stack_in("sa-east-1", True)


def test_other_region_without_waf_synthesizes():
    stack = _stack_in("sa-east-1", False)
    assert stack.region == "sa-east-1"
