"""Stateful resources keep their logical IDs: a rename would replace them.

If this fails, a refactor moved or renamed a construct that holds data.
CloudFormation would create a new bucket/volume/key and orphan (retain) the
old one. Restore the construct path, or migrate on purpose and update the pins.
"""

from __future__ import annotations

from .conftest import resources_of

PINNED = {
    "PhotoStoragePhotos15219561": "AWS::S3::Bucket",
    "PhotoStorageAccessLogs6DCF0D77": "AWS::S3::Bucket",
    "ClinicServerDataVolume817F7BF5": "AWS::EC2::Volume",
    "ClinicServerDataKey64F459CD": "AWS::KMS::Key",
    "ClinicServerSnapshotVaultF3C2F6C8": "AWS::Backup::BackupVault",
    "ClinicServerInstance85324123": "AWS::EC2::Instance",
}


def test_stateful_logical_ids_are_pinned(template_json):
    resources = template_json["Resources"]
    for logical_id, type_ in PINNED.items():
        assert logical_id in resources, f"{type_} {logical_id} is gone: it would be replaced"
        assert resources[logical_id]["Type"] == type_


def test_stateful_resources_are_retained(template_json):
    for logical_id, type_ in PINNED.items():
        if type_ == "AWS::EC2::Instance":
            continue  # stateless: its data lives on the retained volume
        resource = template_json["Resources"][logical_id]
        # Kept on update and delete; deleted only when the stack's first create fails.
        assert resource["DeletionPolicy"] == "RetainExceptOnCreate", logical_id
        assert resource["UpdateReplacePolicy"] == "Retain", logical_id


def test_there_is_exactly_one_data_volume_and_key(template_json):
    assert list(resources_of(template_json, "AWS::EC2::Volume")) == ["ClinicServerDataVolume817F7BF5"]
    assert list(resources_of(template_json, "AWS::KMS::Key")) == ["ClinicServerDataKey64F459CD"]
