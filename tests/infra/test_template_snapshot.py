"""Every infrastructure change shows up in review as a snapshot diff.

When this fails on purpose, run `make snapshot` and commit tests/snapshots/.
"""

from __future__ import annotations

import json
import sys

from .conftest import REPO

sys.path.insert(0, str(REPO / "scripts"))
import template_snapshot  # noqa: E402


def test_synthesized_template_matches_the_reviewed_snapshot(cdk_out):
    names = sorted(p.name for p in cdk_out.glob("*.template.json"))
    # One snapshot per shape of the stack (mode ha's is checked in test_ha.py).
    assert sorted(template_snapshot.VARIANTS) == sorted(p.name for p in template_snapshot.SNAPSHOT_DIR.glob("*.template.json"))
    assert names == ["ClinicStack.template.json"]
    for name in names:
        text = template_snapshot.diff(name, json.loads((cdk_out / name).read_text()))
        assert not text, f"{name} changed; if intended run `make snapshot` and commit it:\n{text}"


def test_normalisation_blanks_asset_hashes_but_keeps_real_changes():
    a = {"Resources": {"F": {"Properties": {"S3Key": "0" * 64 + ".zip", "MemorySize": 1024}}}}
    b = {"Resources": {"F": {"Properties": {"S3Key": "f" * 64 + ".zip", "MemorySize": 1024}}}}
    c = {"Resources": {"F": {"Properties": {"S3Key": "f" * 64 + ".zip", "MemorySize": 2048}}}}
    assert template_snapshot.render(a) == template_snapshot.render(b)
    assert template_snapshot.render(a) != template_snapshot.render(c)
