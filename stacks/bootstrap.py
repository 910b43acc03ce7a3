"""How the instance gets from a blank AMI to a running clinic, and how updates reach it.

Everything that changes lives in the instance's cfn-init metadata, never in
its user data: user data is a constant few lines (install cfn-bootstrap, run
cfn-init, signal). A changed script or app release therefore changes only the
metadata, which cfn-hup notices and applies on the running instance; the
instance is neither replaced nor stopped (docs/decisions.md, "Updates").
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Aws
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3_assets as s3_assets

USERDATA_DIR = Path(__file__).resolve().parent.parent / "ec2_userdata"
BIN_DIR = "/opt/clinic/bin"
CONFIG_SET = "bootstrap"
CFN_HUP_INTERVAL_MINUTES = 5
REASON_FILE = "/var/log/clinic-bootstrap-reason"


def data_volume_unit(volume_id: str, mount_point: str) -> str:
    """A oneshot unit so the volume is found, checked and mounted on every boot."""
    return f"""[Unit]
Description=Prepare and mount the clinic's encrypted EBS data volume
Wants=systemd-udev-settle.service
After=local-fs.target systemd-udev-settle.service
Before=clinic-gunicorn.service nginx.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart={BIN_DIR}/prepare_data_volume.sh --volume-id {volume_id} --mount-point {mount_point}

[Install]
WantedBy=multi-user.target
"""


# Written by cfn-init itself, as AWS's sample templates do: some aws-cfn-bootstrap
# builds on AL2023 ship no cfn-hup.service, and then `services: systemd: cfn-hup`
# fails with "Could not enable service cfn-hup".
CFN_HUP_UNIT_PATH = "/etc/systemd/system/cfn-hup.service"
CFN_HUP_UNIT = """[Unit]
Description=cfn-hup daemon (applies CloudFormation metadata updates)
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
ExecStart=/opt/aws/bin/cfn-hup
Restart=always
RestartSec=30

[Install]
WantedBy=multi-user.target
"""


def cfn_hup_config(resource_logical_id: str) -> ec2.InitConfig:
    region = Aws.REGION
    return ec2.InitConfig([
        ec2.InitFile.from_string(
            "/etc/cfn/cfn-hup.conf",
            f"[main]\nstack={Aws.STACK_ID}\nregion={region}\ninterval={CFN_HUP_INTERVAL_MINUTES}\nverbose=true\n",
            mode="000400",
            owner="root",
            group="root",
        ),
        ec2.InitFile.from_string(
            "/etc/cfn/hooks.d/clinic-update.conf",
            "[clinic-update]\n"
            "triggers=post.update\n"
            f"path=Resources.{resource_logical_id}.Metadata.AWS::CloudFormation::Init\n"
            f"action=/opt/aws/bin/cfn-init -v --stack {Aws.STACK_NAME} --resource {resource_logical_id} "
            f"--region {region} --configsets {CONFIG_SET}\n"
            "runas=root\n",
            mode="000400",
            owner="root",
            group="root",
        ),
        ec2.InitFile.from_string(CFN_HUP_UNIT_PATH, CFN_HUP_UNIT, mode="000644", owner="root", group="root"),
        # cfn-init runs files, then commands, then services: systemd sees the unit first.
        ec2.InitCommand.shell_command("systemctl daemon-reload", key="10-cfn-hup-daemon-reload"),
        ec2.InitService.enable(
            "cfn-hup", enabled=True, ensure_running=True, service_manager=ec2.ServiceManager.SYSTEMD
        ),
    ])  # fmt: skip


def prepare_volume_config(scope, volume_id: str, mount_point: str) -> ec2.InitConfig:
    script = s3_assets.Asset(scope, "PrepareDataVolumeScript", path=str(USERDATA_DIR / "prepare_data_volume.sh"))
    unit = data_volume_unit(volume_id, mount_point)
    return ec2.InitConfig(
        [
            ec2.InitFile.from_existing_asset(f"{BIN_DIR}/prepare_data_volume.sh", script, mode="000755"),
            ec2.InitFile.from_string("/etc/systemd/system/clinic-data-volume.service", unit, mode="000644"),
            ec2.InitCommand.shell_command("systemctl daemon-reload", key="10-daemon-reload"),
            # `restart`, not `start`: a changed volume id or script must run now too.
            ec2.InitCommand.shell_command(
                "systemctl enable clinic-data-volume.service && systemctl restart clinic-data-volume.service",
                key="20-prepare-data-volume",
            ),
        ]
    )


def write_user_data(user_data: ec2.UserData, resource_logical_id: str) -> None:
    """The constant user data: no asset hash, no config, so it never changes."""
    region, name = Aws.REGION, Aws.STACK_NAME
    user_data.add_commands(
        "# Everything real is in cfn-init metadata; see stacks/bootstrap.py.",
        "set -uo pipefail",
        "exec > >(tee -a /var/log/clinic-userdata.log) 2>&1",
        f"rm -f {REASON_FILE}",
        "dnf install -y --setopt=install_weak_deps=False aws-cfn-bootstrap",
        f"/opt/aws/bin/cfn-init -v --region {region} --stack {name} --resource {resource_logical_id} "
        f"--configsets {CONFIG_SET}",
        "rc=$?",
        'reason="clinic bootstrap succeeded"',
        'if [ "$rc" -ne 0 ]; then',
        f'  reason="$(tail -n 1 {REASON_FILE} 2>/dev/null || true)"',
        '  [ -n "$reason" ] || reason="cfn-init failed (exit $rc); see /var/log/cfn-init.log"',
        '  echo "BOOTSTRAP FAILED: $reason" >&2',
        "  tail -n 40 /var/log/cfn-init.log >&2 || true",
        "fi",
        f'/opt/aws/bin/cfn-signal -e "$rc" --region {region} --stack {name} --resource {resource_logical_id} '
        '--reason "$reason"',
    )


def attach(init: ec2.CloudFormationInit, instance: ec2.Instance, role: iam.IRole) -> None:
    """Render the metadata and grant cfn-init its reads, without CDK's user-data lines.

    CDK's own lines would embed a fingerprint of the metadata in user data;
    ours stay constant (write_user_data) and pass a failure reason to cfn-signal.
    """
    init.attach(
        instance.node.default_child,
        platform=ec2.OperatingSystemType.LINUX,
        instance_role=role,
        user_data=ec2.UserData.for_linux(),  # discarded on purpose
        config_sets=[CONFIG_SET],
        embed_fingerprint=False,
    )
