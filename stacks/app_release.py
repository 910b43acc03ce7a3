"""The clinic app as a CDK asset: its wheel, a wheelhouse for the instance, the installer.

Built locally by scripts/build_app_artifact.py (pip download for the
instance's Python and architecture), never with Docker, so the instance
installs with `pip --no-index` and never reaches PyPI.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

REPO = Path(__file__).resolve().parent.parent
from scripts import build_app_artifact  # noqa: E402  (scripts/ is a namespace package at the repo root)

# Amazon Linux 2023 ships python3.12 as a dnf package; the instance is Graviton.
INSTANCE_PYTHON = build_app_artifact.DEFAULT_PYTHON_VERSION
INSTANCE_PLATFORM = build_app_artifact.DEFAULT_PLATFORM


@jsii.implements(ILocalBundling)
class ReleaseBundling:
    def try_bundle(self, output_dir: str, *, image=None, **_kwargs) -> bool:  # noqa: ANN001
        out = Path(output_dir)
        build_app_artifact.build(out, INSTANCE_PYTHON, INSTANCE_PLATFORM)
        # CDK zips the folder; cfn-init unpacks it with the modes intact.
        for leftover in out.glob("**/__pycache__"):
            shutil.rmtree(leftover, ignore_errors=True)
        return True


def release_asset(scope: Construct, construct_id: str) -> s3_assets.Asset:
    return s3_assets.Asset(
        scope,
        construct_id,
        path=str(REPO / "clinic_app"),
        asset_hash_type=AssetHashType.CUSTOM,
        asset_hash=build_app_artifact.release_hash(INSTANCE_PYTHON, INSTANCE_PLATFORM),
        bundling=BundlingOptions(image=DockerImage.from_registry("docker-is-never-used"), local=ReleaseBundling()),
    )
