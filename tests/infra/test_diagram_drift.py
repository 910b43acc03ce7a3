"""The architecture diagram shows only what the stack really deploys."""

from __future__ import annotations

import shutil

import pytest

from scripts import architecture_diagram  # noqa: E402


def test_every_resource_kind_in_the_diagram_exists_in_the_template(template_json):
    deployed = {r["Type"] for r in template_json["Resources"].values()}
    missing = architecture_diagram.cfn_types() - deployed
    assert not missing, f"the diagram shows {sorted(missing)}, which the stack does not deploy"


def test_flow_is_numbered_one_to_six_and_uses_declared_nodes():
    keys = {n.key for n in architecture_diagram.NODES}
    for source, target, _ in architecture_diagram.FLOW + [(*link, "") for link in architecture_diagram.LINKS]:
        assert source in keys and target in keys
    numbers = {label.split(".")[0] for _, _, label in architecture_diagram.FLOW if "." in label}
    assert numbers == {"1", "2", "3", "4", "5", "6"}


def test_diagram_renders(tmp_path):
    if shutil.which("dot") is None:
        pytest.skip("Graphviz `dot` is not installed (make test installs it as root)")
    png = architecture_diagram.render(tmp_path / "architecture")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
