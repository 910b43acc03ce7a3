"""HTTPS for staff with no domain to buy: CloudFront in front of a private instance."""

from __future__ import annotations

from .conftest import instance, only


def test_cloudfront_reaches_the_instance_through_a_vpc_origin(template_json):
    instance_id, _ = instance(template_json)
    _, vpc_origin = only(template_json, "AWS::CloudFront::VpcOrigin")
    config = vpc_origin["Properties"]["VpcOriginEndpointConfig"]
    assert instance_id in str(config["Arn"])
    assert config["HTTPPort"] == 80
    assert config["OriginProtocolPolicy"] == "http-only"


def test_viewers_are_redirected_to_https_and_pages_are_never_cached(template_json):
    _, dist = only(template_json, "AWS::CloudFront::Distribution")
    config = dist["Properties"]["DistributionConfig"]
    default = config["DefaultCacheBehavior"]
    assert default["ViewerProtocolPolicy"] == "redirect-to-https"
    assert default["CachePolicyId"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # Managed-CachingDisabled
    assert "POST" in default["AllowedMethods"]
    # AllViewerAndCloudFrontHeaders-2022-06: the viewer's Host (Django checks it) and
    # CloudFront-Forwarded-Proto (nginx turns it into X-Forwarded-Proto: https).
    assert default["OriginRequestPolicyId"] == "33f36d7e-f396-46d9-90e0-52428a34d9dc"
    (static,) = config["CacheBehaviors"]
    assert static["PathPattern"] == "/static/*"
    assert static["ViewerProtocolPolicy"] == "redirect-to-https"
    assert config["Logging"]["Prefix"] == "cloudfront/"


def test_custom_domain_and_certificate_from_context(tmp_path):
    import json

    from .conftest import REPO, synth

    base = json.loads((REPO / "cdk.json").read_text())["context"]["clinic"]
    arn = "arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"
    template = synth(tmp_path, {"clinic": {**base, "custom_domain": "clinica.example.com", "certificate_arn": arn}})
    _, dist = only(template, "AWS::CloudFront::Distribution")
    config = dist["Properties"]["DistributionConfig"]
    assert config["Aliases"] == ["clinica.example.com"]
    assert config["ViewerCertificate"]["AcmCertificateArn"] == arn
    assert config["ViewerCertificate"]["MinimumProtocolVersion"] == "TLSv1.2_2021"
    _, bucket = only(template, "AWS::S3::Bucket", lambda r: "BucketName" in r["Properties"])
    assert bucket["Properties"]["CorsConfiguration"]["CorsRules"][0]["AllowedOrigins"] == ["https://clinica.example.com"]


def test_outputs(template_json):
    outputs = template_json["Outputs"]
    for name in ("AppUrl", "InstanceId", "SessionManagerCommand"):
        assert name in outputs
    command = str(outputs["SessionManagerCommand"]["Value"])
    assert "aws ssm start-session --target" in command
