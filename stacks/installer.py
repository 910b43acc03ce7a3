"""The stack -> instance contract: every value ec2_userdata/install_clinic.sh needs,
passed explicitly by the stack (mode single and mode ha build it the same way).

The installer has no defaults for these (it refuses to run without each of
``REQUIRED_OPTIONS``), so IAM, the security group and the instance can never
agree only because two defaults happen to match. tests/userdata checks both
directions: the installer refuses each missing option, and the synthesized
command passes every one of them.
"""

from __future__ import annotations

from dataclasses import dataclass

from lambda_src.photo_contract import BACKUPS_PREFIX

from . import bootstrap
from .app_release import INSTANCE_PYTHON

APP_PORT = 80  # nginx; CloudFront's VPC origin (or mode ha's internal ALB) speaks HTTP inside the VPC
PYTHON = f"python{INSTANCE_PYTHON}"  # the dnf package and interpreter the wheelhouse is built for
RELEASES_DIR = "/opt/clinic/releases"

# The options install_clinic.sh refuses to run without (its usage_error "... is required" lines).
REQUIRED_OPTIONS = ("--release", "--data-dir", "--python", "--http-port", "--bucket", "--backup-prefix",
                    "--region", "--allowed-hosts")


@dataclass(frozen=True)
class InstallerArgs:
    release_hash: str
    data_dir: str
    bucket: str
    region: str
    allowed_hosts: list[str]
    csrf_origins: list[str]
    secret_key_arn: str
    admin_secret_arn: str
    trusted_proxies: tuple[str, ...]
    database_secret_arn: str | None = None  # mode ha
    backup_prefix: str = BACKUPS_PREFIX
    http_port: int = APP_PORT
    python: str = PYTHON

    @property
    def release_dir(self) -> str:
        return f"{RELEASES_DIR}/{self.release_hash}"

    def command(self) -> str:
        """The cfn-init command; bash, so nothing relies on the zip keeping the execute bit."""
        return " ".join([
            f"bash {self.release_dir}/install_clinic.sh",
            f"--release {self.release_dir}",
            f"--data-dir {self.data_dir}",
            f"--python {self.python}",
            f"--http-port {self.http_port}",
            f"--bucket {self.bucket}",
            f"--backup-prefix {self.backup_prefix}",
            f"--region {self.region}",
            f"--allowed-hosts {','.join(self.allowed_hosts)}",
            *([f"--csrf-origins {','.join(self.csrf_origins)}"] if self.csrf_origins else []),
            f"--secret-key-secret-id {self.secret_key_arn}",
            f"--admin-secret-id {self.admin_secret_arn}",
            # Mode ha: DATABASE_URL from the RDS secret, migrate under an advisory
            # lock, no SQLite backup timer.
            *([f"--database-secret-id {self.database_secret_arn}"] if self.database_secret_arn else []),
            f"--reason-file {bootstrap.REASON_FILE}",
            # The viewer's address is the hop CloudFront appends to X-Forwarded-For.
            f"--trusted-proxy-cidr {','.join(self.trusted_proxies)}",
        ])
