"""AWS WAF in front of CloudFront (context ``clinic.waf_enabled``, on by default).

A web ACL of scope CLOUDFRONT: AWS managed rule groups (IP reputation, known
bad inputs, common rule set) and a rate-based rule on the sign-in paths. AWS
WAF requires a CLOUDFRONT web ACL to be created in US East (N. Virginia),
us-east-1 ("Resources that you can protect with AWS WAF", AWS WAF Developer
Guide), so with the WAF on, this stack deploys in us-east-1 only:

* at synth, a stack whose region is known and is not us-east-1 stops with a
  ConfigError naming ``clinic.waf_enabled``;
* the stack is environment-agnostic (synth needs no credentials), so the
  template also carries a CloudFormation Rule asserting the region, which
  CloudFormation evaluates before it creates or updates any resource: a deploy
  elsewhere fails at once and leaves nothing behind.

Deploy in another region with ``-c clinic.waf_enabled=false`` (docs/decisions.md).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from aws_cdk import Aws, CfnRule, CfnRuleAssertion, Fn, Stack, Token
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from .config import ConfigError

WAF_REGION = "us-east-1"
# Sign-in POSTs per client IP per 5-minute window before WAF answers 429. The
# app's own limiter (django-axes) locks after 5 failures per username+address
# and 20 per address; this stops floods before they reach the instance. A
# clinic behind one NAT address signs in far fewer than 100 times in 5 minutes.
SIGN_IN_RATE_LIMIT = 100
RATE_WINDOW_SECONDS = 300
MANAGED_RULE_GROUPS = (
    # (name, priority, rules switched to Count with the reason)
    ("AWSManagedRulesAmazonIpReputationList", 1, ()),
    ("AWSManagedRulesKnownBadInputsRuleSet", 2, ()),
    # SizeRestrictions_BODY blocks bodies over 8 KB: a long note on an animal or
    # tutor form would be refused at the edge and the user's input lost; the app
    # limits its own forms (photos go browser -> S3, never through CloudFront).
    ("AWSManagedRulesCommonRuleSet", 3, ("SizeRestrictions_BODY",)),
)


def _sign_in_paths() -> tuple[str, ...]:
    """The app's sign-in paths, from the one place that defines them."""
    path = Path(__file__).resolve().parents[1] / "clinic_app" / "clinic" / "paths.py"
    spec = importlib.util.spec_from_file_location("clinic_paths", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return tuple(module.SIGN_IN_PATHS)


def _visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
    )


def _starts_with(path: str) -> wafv2.CfnWebACL.StatementProperty:
    return wafv2.CfnWebACL.StatementProperty(
        byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
            field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(uri_path={}),
            positional_constraint="STARTS_WITH",
            search_string=path,
            text_transformations=[wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="LOWERCASE")],
        )
    )


def _sign_in_statement() -> wafv2.CfnWebACL.StatementProperty:
    """A POST to one of the sign-in paths."""
    paths = _sign_in_paths()
    return wafv2.CfnWebACL.StatementProperty(
        and_statement=wafv2.CfnWebACL.AndStatementProperty(
            statements=[
                wafv2.CfnWebACL.StatementProperty(
                    byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
                        field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(method={}),
                        positional_constraint="EXACTLY",
                        search_string="POST",
                        text_transformations=[wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")],
                    )
                ),
                wafv2.CfnWebACL.StatementProperty(
                    or_statement=wafv2.CfnWebACL.OrStatementProperty(statements=[_starts_with(p) for p in paths])
                ),
            ]
        )
    )


def _sign_in_rate_limit() -> wafv2.CfnWebACL.RuleProperty:
    """Sign-in POSTs from one address over the limit in the window get a 429."""
    return wafv2.CfnWebACL.RuleProperty(
        name="SignInRateLimit",
        priority=0,
        action=wafv2.CfnWebACL.RuleActionProperty(
            block=wafv2.CfnWebACL.BlockActionProperty(
                custom_response=wafv2.CfnWebACL.CustomResponseProperty(response_code=429)
            )
        ),
        statement=wafv2.CfnWebACL.StatementProperty(
            rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                aggregate_key_type="IP",
                limit=SIGN_IN_RATE_LIMIT,
                evaluation_window_sec=RATE_WINDOW_SECONDS,
                scope_down_statement=_sign_in_statement(),
            )
        ),
        visibility_config=_visibility("SignInRateLimit"),
    )


def _managed_rule(name: str, priority: int, counted) -> wafv2.CfnWebACL.RuleProperty:
    """An AWS managed rule group, with the rules it only counts."""
    return wafv2.CfnWebACL.RuleProperty(
        name=name,
        priority=priority,
        override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
        statement=wafv2.CfnWebACL.StatementProperty(
            managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                vendor_name="AWS",
                name=name,
                rule_action_overrides=[
                    wafv2.CfnWebACL.RuleActionOverrideProperty(
                        name=rule, action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={})
                    )
                    for rule in counted
                ]
                or None,
            )
        ),
        visibility_config=_visibility(name),
    )


class ClinicWaf(Construct):
    """The web ACL; ``web_acl_arn`` goes to the distribution's ``web_acl_id``."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self._require_us_east_1()
        rules = [_sign_in_rate_limit()] + [_managed_rule(*group) for group in MANAGED_RULE_GROUPS]
        self.web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            scope="CLOUDFRONT",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            description="Sistema da Clinica: managed rules and a sign-in rate limit in front of CloudFront",
            visibility_config=_visibility("ClinicWebAcl"),
            rules=rules,
        )
        self.web_acl_arn = self.web_acl.attr_arn

    def _require_us_east_1(self) -> None:
        """CloudFront web ACLs live in us-east-1: a synth error, and a CloudFormation rule."""
        stack = Stack.of(self)
        if not Token.is_unresolved(stack.region) and stack.region != WAF_REGION:
            raise ConfigError(
                f"cdk.json context 'clinic.waf_enabled' needs the stack in {WAF_REGION} (AWS WAF creates "
                f"CloudFront web ACLs there only); this stack is in {stack.region}: deploy it in {WAF_REGION} "
                "or set clinic.waf_enabled to false"
            )
        CfnRule(
            stack,
            "WafNeedsUsEast1",
            assertions=[
                CfnRuleAssertion(
                    assert_=Fn.condition_contains([WAF_REGION], Aws.REGION),
                    assert_description=(
                        f"clinic.waf_enabled is true: AWS WAF creates CloudFront web ACLs in {WAF_REGION} only. "
                        f"Deploy this stack in {WAF_REGION}, or synthesize with -c clinic.waf_enabled=false."
                    ),
                )
            ],
        )
