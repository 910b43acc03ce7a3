"""Finding-level cdk-nag acknowledgements.

cdk-nag 3 reads acknowledgements recorded with CDK's own Validations API.
Every one names the exact finding (`Rule[Finding]` where the rule reports
findings) and carries the reason a reviewer needs to accept it.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct


def acknowledge(scope: IConstruct, finding: str, reason: str) -> None:
    if not reason or len(reason) < 20:
        raise ValueError(f"acknowledgement of {finding} needs a real reason")
    Validations.of(scope).acknowledge(Acknowledgment(id=finding, reason=reason))
