"""cfn-lint finds no errors in the synthesized template."""

from __future__ import annotations

import json
import subprocess
import sys


def test_cfn_lint_reports_no_errors(cdk_out):
    templates = sorted(str(p) for p in cdk_out.glob("*.template.json"))
    assert templates
    result = subprocess.run(
        [sys.executable, "-m", "cfnlint", "--format", "json", *templates], capture_output=True, text=True
    )
    findings = json.loads(result.stdout or "[]")
    errors = [f for f in findings if f["Level"] == "Error"]
    assert not errors, json.dumps(errors, indent=1)
