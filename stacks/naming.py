"""Retention and physical names: what survives the stack, and why it never blocks a retry.

Retained resources outlive their stack (and a failed first create deletes
them only if CloudFormation can). A fixed physical name on such a resource
makes the next `cdk deploy` fail with "already exists", so every name we must
set ourselves ends with a piece of this stack's own id: a new stack (a retry,
a redeploy after a delete) gets a new id, hence new names.
"""

from __future__ import annotations

from aws_cdk import Aws, Duration, Fn, RemovalPolicy, Stack
from aws_cdk import aws_kms as kms
from constructs import Construct

# Every stateful resource (buckets, data volume, key, vault, secrets): kept on
# update and delete (CloudFormation DeletionPolicy RetainExceptOnCreate), but
# deleted when the stack's first create fails, so a retry starts clean.
STATEFUL = RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE

# arn:aws:cloudformation:<region>:<account>:stack/<name>/<uuid>
#   -> the uuid's first group: 8 hex characters, new for every stack created.
_STACK_UUID = Fn.select(2, Fn.split("/", Aws.STACK_ID))


def stack_unique_suffix() -> str:
    return Fn.select(0, Fn.split("-", _STACK_UUID))


# The names the stack gives, by stack name: used by the stack and by
# scripts/preflight.py (which looks for what earlier stacks left behind).
def data_key_alias(stack_name: str) -> str:
    return f"alias/{stack_name.lower()}-data"


def photo_bucket_prefix(stack_name: str) -> str:
    """The photo bucket's name up to the account, region and stack-id suffix."""
    return f"{stack_name.lower()}-photos-"


def vault_name_prefix(stack_name: str) -> str:
    return f"{stack_name}-snapshots-"


def stack_data_key(scope: Construct) -> kms.Key:
    """The stack's customer managed key, at the same construct path in both modes.

    Mode single creates it under ClinicServer, mode ha under a construct of the
    same name, so its logical id (ClinicServerDataKey64F459CD) and its alias
    stay the same when a stack is switched from single to ha in place: the key
    that encrypts the retained volume and snapshots also encrypts the database.
    """
    key = kms.Key(
        scope,
        "DataKey",
        description="Encrypts the clinic's data volume and its snapshots",
        enable_key_rotation=True,
        removal_policy=STATEFUL,
        pending_window=Duration.days(30),
    )
    key.add_alias(data_key_alias(Stack.of(scope).stack_name))
    return key
