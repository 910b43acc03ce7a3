"""Bad settings stop the synth with a message naming the key."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from stacks.config import ConfigError

from .conftest import REPO, synth


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ({"instance_type": "t3.small"}, "clinic.instance_type"),
        ({"processor_memory_mb": "lots"}, "clinic.processor_memory_mb"),
        ({"processor_timeout_seconds": 1000}, "clinic.processor_timeout_seconds"),
        ({"log_retention_days": 42}, "clinic.log_retention_days"),
        ({"extra_cors_origins": ["*"]}, "clinic.extra_cors_origins"),
        ({"extra_cors_origins": ["http://insecure.example.com"]}, "clinic.extra_cors_origins"),
        ({"custom_domain": "clinica.example.com"}, "clinic.certificate_arn"),
        ({"allowed_countries": ["Brazil"]}, "clinic.allowed_countries"),
        ({"data_volume_gib": 0}, "clinic.data_volume_gib"),
        ({"instance_typo": "t4g.small"}, "clinic.instance_typo"),
    ],
)
def test_bad_value_names_the_key(tmp_path, override, key):
    base = json.loads((REPO / "cdk.json").read_text())["context"]["clinic"]
    with pytest.raises(ConfigError, match=f"'{key}'"):
        synth(tmp_path, {"clinic": {**base, **override}})


def test_cli_override_is_validated_too(tmp_path):
    """What a platform engineer sees: `cdk synth -c clinic.instance_type=...`, a clear error, exit 1."""
    env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps({"clinic.instance_type": "m5.large"}), "CDK_OUTDIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "app.py"], cwd=REPO, env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "error: cdk.json context 'clinic.instance_type' must be a Graviton (arm64) instance type" in result.stderr
    assert "Traceback" not in result.stderr
