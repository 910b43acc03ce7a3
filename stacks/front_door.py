"""Front door: CloudFront, HTTPS for staff with no domain to buy, in front of the instance.

The instance sits in an isolated subnet with no public address; CloudFront
reaches it through a VPC origin, so CloudFront is the only way in.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_s3 as s3
from constructs import Construct

from .config import ClinicConfig
from .nag import acknowledge
from .waf import ClinicWaf


def _vpc_origin(instance: ec2.Instance | None, load_balancer: elbv2.IApplicationLoadBalancer | None,
                http_port: int) -> cloudfront.IOrigin:
    # Mode single: the instance; mode ha: the internal ALB in front of the group.
    target = origins.VpcOrigin.with_ec2_instance if instance is not None else origins.VpcOrigin.with_application_load_balancer
    return target(
        instance if instance is not None else load_balancer,
        http_port=http_port,
        protocol_policy=cloudfront.OriginProtocolPolicy.HTTP_ONLY,
        read_timeout=Duration.seconds(60),
        keepalive_timeout=Duration.seconds(30),
    )


def _behaviours(origin: cloudfront.IOrigin) -> tuple[cloudfront.BehaviorOptions, cloudfront.BehaviorOptions]:
    """Pages (never cached, everything forwarded) and /static/* (cached)."""
    dynamic = cloudfront.BehaviorOptions(
        origin=origin,
        viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
        # Every page is per user: never cache, forward cookies, query strings,
        # the viewer's Host (Django checks it) and CloudFront-Forwarded-Proto.
        cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
        origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_AND_CLOUDFRONT_2022,
        compress=True,
    )
    static = cloudfront.BehaviorOptions(
        origin=origin,
        viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
        cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
        compress=True,
    )
    return dynamic, static


class FrontDoor(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        instance: ec2.Instance | None = None,
        load_balancer: elbv2.IApplicationLoadBalancer | None = None,
        http_port: int,
        log_bucket: s3.IBucket,
        config: ClinicConfig,
    ) -> None:
        super().__init__(scope, construct_id)
        dynamic, static = _behaviours(_vpc_origin(instance, load_balancer, http_port))
        custom = self._protection_and_domain(config)
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment="Sistema da Clínica",
            default_behavior=dynamic,
            additional_behaviors={"/static/*": static},
            # South America edges (São Paulo) are only in the "All" price class.
            price_class=cloudfront.PriceClass.PRICE_CLASS_ALL,
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            enable_logging=True,
            log_bucket=log_bucket,
            log_file_prefix="cloudfront/",
            geo_restriction=(
                cloudfront.GeoRestriction.allowlist(*config.allowed_countries) if config.allowed_countries else None
            ),
            **custom,
        )
        self.domain_name = config.custom_domain or self.distribution.distribution_domain_name
        self.origin = f"https://{self.domain_name}"
        self._acknowledge_findings(config)

    def _protection_and_domain(self, config: ClinicConfig) -> dict:
        """The distribution's optional WAF and custom domain (with its certificate)."""
        custom = {}
        if config.waf_enabled:
            custom["web_acl_id"] = ClinicWaf(self, "Waf").web_acl_arn
        if config.custom_domain:
            custom |= {
                "domain_names": [config.custom_domain],
                "certificate": acm.Certificate.from_certificate_arn(self, "Certificate", config.certificate_arn),
                "minimum_protocol_version": cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
            }
        return custom

    def _acknowledge_findings(self, config: ClinicConfig) -> None:
        d = self.distribution
        if not config.allowed_countries:
            acknowledge(
                d,
                "AwsSolutions-CFR1",
                "Staff may work from anywhere (home, travel); sign-in is required for every page. "
                "Set context clinic.allowed_countries (e.g. [\"BR\"]) to restrict by country.",
            )
        if not config.waf_enabled:
            acknowledge(
                d,
                "AwsSolutions-CFR2",
                "clinic.waf_enabled is false (e.g. a stack outside us-east-1): the origin is private, every "
                "page requires sign-in and the app limits sign-in attempts (django-axes).",
            )
        if not config.custom_domain:
            acknowledge(
                d,
                "AwsSolutions-CFR4",
                "With the default *.cloudfront.net certificate CloudFront does not allow choosing the minimum "
                "TLS version; set clinic.custom_domain and clinic.certificate_arn to enforce TLSv1.2_2021.",
            )
        acknowledge(
            d,
            "AwsSolutions-CFR6",
            "The origin is an EC2 instance reached through a CloudFront VPC origin, not an S3 bucket; "
            "origin access identities/controls apply to S3 origins only.",
        )
