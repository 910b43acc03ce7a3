"""`make diff`: cdk diff against the deployed stack, or against the snapshot offline.

With AWS credentials, reviewers get CloudFormation's own view (`cdk diff`).
Without them (CI, a laptop with no account) the fresh synth is compared with
the committed, normalised snapshot in tests/snapshots/.
"""

from __future__ import annotations

import subprocess
import sys

from scripts import template_snapshot


def have_credentials() -> bool:
    try:
        import boto3

        return boto3.session.Session().get_credentials() is not None
    except Exception:  # noqa: BLE001 - any failure means "no usable credentials"
        return False


def main(stack: str) -> int:
    if have_credentials():
        print(f">> AWS credentials found: cdk diff {stack} against the deployed stack")
        rc = subprocess.call(["npx", "--no-install", "cdk", "diff", stack])
        # cdk diff marks replacements too, easy to miss in a long diff: say it
        # again loudly against the reviewed snapshot (exit 3 when it replaces).
        print(">> checking for replacement of stateful resources against tests/snapshots/")
        offline = template_snapshot.main(["--replacements-only"])
        return rc or offline
    print(">> no AWS credentials: comparing a fresh synth with tests/snapshots/ (make snapshot accepts it)")
    return template_snapshot.main([])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "ClinicStack"))
