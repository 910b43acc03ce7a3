"""The instance role: exactly what the app and its bootstrap need (issue: instance bootstrap)."""

from __future__ import annotations

import json

from .conftest import actions_of, instance, only, policy_of_role


def _role_id(template_json):
    _, inst = instance(template_json)
    profile = template_json["Resources"][inst["Properties"]["IamInstanceProfile"]["Ref"]]
    return profile["Properties"]["Roles"][0]["Ref"]


def _bucket_prefix_arn(prefix):
    return {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":s3:::clinicstack-photos-",
                {"Ref": "AWS::AccountId"},
                "-",
                {"Ref": "AWS::Region"},
                "-",
                # The stack id's first group: a bucket kept by an earlier stack never collides.
                {"Fn::Select": [0, {"Fn::Split": ["-", {"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]}]}]},
                *([prefix] if prefix else []),
            ],
        ]
    }


def test_app_statements_are_exactly_the_documented_ones(template_json):
    statements = {s.get("Sid"): s for s in policy_of_role(template_json, _role_id(template_json)) if s.get("Sid")}
    secrets = sorted(k for k, v in template_json["Resources"].items() if v["Type"] == "AWS::SecretsManager::Secret")
    expected = {
        "PresignAndConfirmUploads": (["s3:GetObject", "s3:PutObject"], _bucket_prefix_arn("/uploads/*"), None),
        "ReadRenditions": ("s3:GetObject", _bucket_prefix_arn("/processed/*"), None),
        "DatabaseBackups": (["s3:GetObject", "s3:PutObject"], _bucket_prefix_arn("/backups/*"), None),
        "ListOwnBackups": ("s3:ListBucket", _bucket_prefix_arn(""), {"StringLike": {"s3:prefix": ["backups/*"]}}),
        # the photo deletion outbox (issue 13): delete markers only, photo prefixes only
        "DeletePhotoObjects": ("s3:DeleteObject", [_bucket_prefix_arn("/processed/*"), _bucket_prefix_arn("/uploads/*")], None),
        "ListPhotoObjects": ("s3:ListBucket", _bucket_prefix_arn(""),
                             {"StringLike": {"s3:prefix": ["uploads/*", "processed/*"]}}),
        "ReadAppSecrets": ("secretsmanager:GetSecretValue", [{"Ref": s} for s in secrets], None),
    }
    app_sids = {sid for sid in statements if sid != "SessionManager"}
    assert app_sids == set(expected)
    for sid, (actions, resource, condition) in expected.items():
        s = statements[sid]
        assert s["Effect"] == "Allow"
        assert s["Action"] == actions, sid
        assert s["Resource"] == resource, sid
        assert s.get("Condition") == condition, sid


def test_no_statement_can_delete_or_write_outside_its_prefixes(template_json):
    for s in policy_of_role(template_json, _role_id(template_json)):
        actions = actions_of(s)
        # (ec2messages:DeleteMessage is Session Manager's own message queue, not data.)
        # s3:DeleteObject only on the photo prefixes (a delete marker on the versioned bucket);
        # never DeleteObjectVersion / DeleteBucket*, nothing on backups/
        deletes = [a for a in actions if a.startswith("s3:Delete")]
        assert deletes in ([], ["s3:DeleteObject"]), s
        if deletes:
            assert "/backups/" not in json.dumps(s["Resource"]) and s.get("Sid") == "DeletePhotoObjects", s
        assert not [a for a in actions if a.startswith(("secretsmanager:Delete", "kms:")) or a.endswith(":*") or a == "*"], s
        if any(a == "s3:PutObject" for a in actions):
            assert any(p in json.dumps(s["Resource"]) for p in ("/uploads/*", "/backups/*")), s


def test_the_rest_is_session_manager_and_cfn_init(template_json):
    statements = policy_of_role(template_json, _role_id(template_json))
    unnamed = [s for s in statements if not s.get("Sid")]
    actions = sorted(a for s in unnamed for a in actions_of(s))
    assert actions == sorted(
        ["s3:GetBucket*", "s3:GetObject*", "s3:List*", "cloudformation:DescribeStackResource", "cloudformation:SignalResource"]
    )
    for s in unnamed:
        text = json.dumps(s["Resource"])
        assert "cdk-hnb659fds-assets" in text or text == '{"Ref": "AWS::StackId"}', s


def test_secrets_are_generated_and_only_referenced_by_arn(template_json):
    secrets = {k: v for k, v in template_json["Resources"].items() if v["Type"] == "AWS::SecretsManager::Secret"}
    assert len(secrets) == 2
    for secret in secrets.values():
        assert "GenerateSecretString" in secret["Properties"]
        assert "SecretString" not in secret["Properties"]
    _, inst = instance(template_json)
    text = json.dumps(inst)
    for logical_id in secrets:
        assert f'{{"Ref": "{logical_id}"}}' in text  # the ARN, passed to the installer
    assert "resolve:secretsmanager" not in json.dumps(template_json)


def test_installer_runs_from_the_release_asset_and_signal_follows_it(template_json):
    _, inst = instance(template_json)
    init = inst["Metadata"]["AWS::CloudFormation::Init"]
    assert init["configSets"]["bootstrap"] == ["prepare", "hup", "install"]
    (release_dir,) = init["install"]["sources"]
    assert release_dir.startswith("/opt/clinic/releases/")
    command = json.dumps(init["install"]["commands"]["10-install-clinic"]["command"])
    for option in ("--bucket", "--region", "--allowed-hosts", "--secret-key-secret-id", "--admin-secret-id", "--reason-file"):
        assert option in command
    assert f"bash {release_dir}/install_clinic.sh --release {release_dir}" in command
    assert "--trusted-proxy-cidr 0.0.0.0/0,::/0" in command  # the SG admits only CloudFront
    assert inst["CreationPolicy"]["ResourceSignal"]["Count"] == 1


def test_outputs_tell_where_the_admin_password_is(template_json):
    out = template_json["Outputs"]["AdminPasswordSecretArn"]
    secret_id, _ = only(
        template_json, "AWS::SecretsManager::Secret", lambda r: "administrator" in r["Properties"]["Description"]
    )
    assert out["Value"] == {"Ref": secret_id}
