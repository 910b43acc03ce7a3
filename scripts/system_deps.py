"""Install the Debian packages the test suite needs, when they are missing.

A fresh machine has none of them; CI runs as root, so `make test` installs
them itself. Without root the script only reports what is missing and the
tests that need it skip with a reason.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys

# command -> Debian package providing it, and why the suite needs it.
NEEDED = {
    "chromium": ("chromium", "end-to-end test in a real browser (never downloaded at run time)"),
    "mkfs.xfs": ("xfsprogs", "data-volume script tests use xfs like Amazon Linux 2023"),
    "mkfs.ext4": ("e2fsprogs", "data-volume script tests"),
    "losetup": ("mount", "loop devices for the data-volume script tests"),
    "blkid": ("util-linux", "data-volume script tests"),
    "nginx": ("nginx", "installer test serves /healthz through nginx"),
    "sqlite3": ("sqlite3", "backup/restore drill and operators' tooling"),
    "dot": ("graphviz", "the architecture diagram"),
    "curl": ("curl", "the installer's health check"),
    "runuser": ("util-linux", "PostgreSQL test cluster runs as the postgres user"),
    "soffice": ("libreoffice-calc-nogui", "the CSV export is opened in LibreOffice Calc (pt-BR) and read back"),
}
# Debian keeps PostgreSQL's server binaries off PATH.
POSTGRES_GLOB = "/usr/lib/postgresql/*/bin/pg_ctl"
EXTRA_PACKAGES = {"chromium": ["fonts-dejavu-core"]}


def missing() -> list[str]:
    packages: list[str] = []
    if not glob.glob(POSTGRES_GLOB):
        packages.append("postgresql")  # the app suite runs again on PostgreSQL (DATABASE_URL)
    for command, (package, _why) in NEEDED.items():
        if shutil.which(command) is None and shutil.which(command, path="/usr/sbin:/sbin") is None:
            packages += [package, *EXTRA_PACKAGES.get(package, [])]
    return sorted(set(packages))


def main() -> int:
    packages = missing()
    if not packages:
        return 0
    if os.geteuid() != 0:
        print(f">> not root: cannot install {' '.join(packages)}; the tests that need them will skip", file=sys.stderr)
        return 0
    print(f">> installing Debian packages: {' '.join(packages)}", file=sys.stderr)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    # nginx's and PostgreSQL's packages start servers where systemd runs; the
    # tests start their own on free ports.
    for service in ("nginx", "postgresql"):
        if service in packages and shutil.which("systemctl"):
            subprocess.run(["systemctl", "disable", "--now", service], check=False, capture_output=True)
    if "nginx" in packages:
        subprocess.run(["pkill", "-x", "nginx"], check=False, capture_output=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
