"""The photo bucket, its trigger and the processor, as synthesized."""

from __future__ import annotations

import json

from aws_cdk.assertions import Match

from .conftest import actions_of, only, photo_bucket, policy_of_role, processor, resources_of


def test_photo_bucket_is_private_encrypted_versioned_and_retained(template_json):
    logical_id, bucket = photo_bucket(template_json)
    props = bucket["Properties"]
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    rule = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert bucket["DeletionPolicy"] == "RetainExceptOnCreate"
    assert bucket["UpdateReplacePolicy"] == "Retain"


def test_photo_bucket_denies_plain_http(template_json):
    logical_id, _ = photo_bucket(template_json)
    policies = [
        p for p in resources_of(template_json, "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": logical_id}
    ]  # fmt: skip
    statements = policies[0]["Properties"]["PolicyDocument"]["Statement"]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in statements
    )


def test_photo_bucket_logs_to_a_separate_bucket(template_json):
    logical_id, bucket = photo_bucket(template_json)
    target = bucket["Properties"]["LoggingConfiguration"]["DestinationBucketName"]["Ref"]
    assert target != logical_id
    log_bucket = template_json["Resources"][target]
    assert log_bucket["DeletionPolicy"] == "RetainExceptOnCreate"
    assert log_bucket["Properties"]["PublicAccessBlockConfiguration"]["BlockPublicAcls"] is True


def test_photo_bucket_lifecycle(template_json):
    _, bucket = photo_bucket(template_json)
    rules = {r["Id"]: r for r in bucket["Properties"]["LifecycleConfiguration"]["Rules"]}
    assert rules["expire-noncurrent-versions"]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30
    assert rules["abort-incomplete-uploads"]["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] >= 1
    assert rules["expire-database-backups"]["Prefix"] == "backups/"
    assert all(r["Status"] == "Enabled" for r in rules.values())


def test_cors_allows_post_only_from_the_front_door(template_json):
    _, bucket = photo_bucket(template_json)
    (rule,) = bucket["Properties"]["CorsConfiguration"]["CorsRules"]
    assert rule["AllowedMethods"] == ["POST"]
    (origin,) = rule["AllowedOrigins"]
    assert "*" not in json.dumps(origin)
    # https://<the CloudFront distribution's domain name>
    distribution_id, _ = only(template_json, "AWS::CloudFront::Distribution")
    assert origin == {"Fn::Join": ["", ["https://", {"Fn::GetAtt": [distribution_id, "DomainName"]}]]}


def test_only_uploads_trigger_the_processor(template_json):
    fn_id, _ = processor(template_json)
    _, notifications = only(template_json, "Custom::S3BucketNotifications")
    configs = notifications["Properties"]["NotificationConfiguration"]["LambdaFunctionConfigurations"]
    assert configs == [
        {
            "Events": ["s3:ObjectCreated:*"],
            "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "uploads/"}]}},
            "LambdaFunctionArn": {"Fn::GetAtt": [fn_id, "Arn"]},
        }
    ]


def test_processor_function_settings(template, template_json):
    _, fn = processor(template_json)
    props = fn["Properties"]
    assert props["Runtime"] == "python3.14"
    assert props["Architectures"] == ["arm64"]
    assert props["MemorySize"] == 1024
    assert props["Timeout"] == 60
    # Off by default: young accounts cannot reserve any (test_first_deploy.py).
    assert "ReservedConcurrentExecutions" not in props
    assert props["RecursiveLoop"] == "Terminate"
    assert len(props["Layers"]) == 1
    log_group_id = props["LoggingConfig"]["LogGroup"]["Ref"]
    assert template_json["Resources"][log_group_id]["Properties"]["RetentionInDays"] == 90


def test_processor_retries_are_bounded_and_failures_go_to_an_encrypted_tls_only_queue(template_json):
    fn_id, _ = processor(template_json)
    _, invoke = only(template_json, "AWS::Lambda::EventInvokeConfig")
    props = invoke["Properties"]
    assert props["FunctionName"] == {"Ref": fn_id}
    assert props["MaximumRetryAttempts"] == 2
    queue_arn = props["DestinationConfig"]["OnFailure"]["Destination"]
    queue_id = queue_arn["Fn::GetAtt"][0]
    queue = template_json["Resources"][queue_id]
    assert queue["Properties"]["SqsManagedSseEnabled"] is True
    policy = next(
        p for p in resources_of(template_json, "AWS::SQS::QueuePolicy").values()
        if {"Ref": queue_id} in p["Properties"]["Queues"]
    )  # fmt: skip
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
    )


def test_processor_reads_only_uploads_and_writes_only_processed(template_json):
    _, fn = processor(template_json)
    role_id = fn["Properties"]["Role"]["Fn::GetAtt"][0]
    statements = policy_of_role(template_json, role_id)
    s3_statements = [s for s in statements if any(str(a).startswith("s3:") for a in actions_of(s))]
    granted = {(a, json.dumps(s["Resource"])) for s in s3_statements for a in actions_of(s)}
    actions = {a for a, _ in granted}
    assert actions == {"s3:GetObject", "s3:PutObject"}
    for action, resource in granted:
        assert ("/uploads/*" in resource) == (action == "s3:GetObject"), (action, resource)
        assert ("/processed/*" in resource) == (action == "s3:PutObject"), (action, resource)
    every_action = [a for s in statements for a in actions_of(s)]
    assert not [a for a in every_action if a in ("s3:*", "*") or "Delete" in a]
    # No managed policy either (e.g. AWSLambdaBasicExecutionRole).
    assert "ManagedPolicyArns" not in template_json["Resources"][role_id]["Properties"]


def test_processor_logs_only_to_its_own_group(template_json):
    _, fn = processor(template_json)
    role_id = fn["Properties"]["Role"]["Fn::GetAtt"][0]
    log_group_id = fn["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    logs = [s for s in policy_of_role(template_json, role_id) if "logs:PutLogEvents" in actions_of(s)]
    assert logs and all(s["Resource"] == {"Fn::GetAtt": [log_group_id, "Arn"]} for s in logs)


def test_layer_targets_the_function_runtime_and_architecture(template):
    template.has_resource_properties(
        "AWS::Lambda::LayerVersion",
        {"CompatibleRuntimes": ["python3.14"], "CompatibleArchitectures": ["arm64"], "Content": Match.any_value()},
    )
