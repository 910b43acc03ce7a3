"""Deployment settings, read from the `clinic` object in cdk.json's context.

Every value is validated at synth time; a wrong one stops the synth with a
message that names the exact key, so a typo never reaches CloudFormation.
Override a value on the command line with `-c clinic.<key>=<value>` (strings
are parsed as JSON when they look like it).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # no aws_cdk/constructs at import time: local/ reads cdk.json through this module
    from aws_cdk import aws_logs as logs
    from constructs import Node

CONTEXT_KEY = "clinic"
CDK_JSON = Path(__file__).resolve().parent.parent / "cdk.json"


class ConfigError(ValueError):
    """A context value is missing or wrong; the message names the key."""


# CloudWatch Logs accepts only these retention periods (days).
_LOG_RETENTION = {
    days: name
    for days, name in {
        1: "ONE_DAY", 3: "THREE_DAYS", 5: "FIVE_DAYS", 7: "ONE_WEEK", 14: "TWO_WEEKS", 30: "ONE_MONTH",
        60: "TWO_MONTHS", 90: "THREE_MONTHS", 120: "FOUR_MONTHS", 150: "FIVE_MONTHS", 180: "SIX_MONTHS",
        365: "ONE_YEAR", 400: "THIRTEEN_MONTHS", 545: "EIGHTEEN_MONTHS", 731: "TWO_YEARS", 1096: "THREE_YEARS",
        1827: "FIVE_YEARS", 2192: "SIX_YEARS", 2557: "SEVEN_YEARS", 2922: "EIGHT_YEARS", 3288: "NINE_YEARS",
        3653: "TEN_YEARS",
    }.items()
}
# Graviton families only: the AMI and the layer are arm64.
_GRAVITON_TYPE = re.compile(r"^[a-z]+[0-9]+[a-z]*g[a-z]*\.(nano|micro|small|medium|large|[0-9]*xlarge|metal)$")
_ORIGIN = re.compile(r"^https://[a-z0-9.-]+(:[0-9]{1,5})?$")
_DOMAIN = re.compile(r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_ACM_ARN = re.compile(r"^arn:aws[a-z-]*:acm:us-east-1:[0-9]{12}:certificate/[0-9a-f-]{36}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
# An Availability Zone *name* such as sa-east-1a (names map to different physical
# zones in each account; make preflight prints the zone id it maps to).
_AZ_NAME = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-[0-9][a-z]$")
# The two shapes of the stack (docs/scaling.md says when to switch).
MODES = ("single", "ha")
# RDS for PostgreSQL Graviton classes (burstable or general purpose).
_DB_CLASS = re.compile(r"^db\.(t4g|m6g|m7g|r6g|r7g)\.(micro|small|medium|large|[0-9]*xlarge)$")
# RDS keeps automated backups (point-in-time recovery) for at most 35 days.
RDS_MAX_BACKUP_RETENTION_DAYS = 35


@dataclass(frozen=True)
class ClinicConfig:
    instance_type: str = "t4g.small"
    data_volume_gib: int = 20
    data_volume_iops: int = 3000
    snapshot_retention_days: int = 14
    processor_memory_mb: int = 1024
    processor_timeout_seconds: int = 60
    # Off by default: PutFunctionConcurrency must leave 100 executions unreserved,
    # and young accounts often have a total quota of 10-50 (docs/deploy.md).
    processor_reserved_concurrency: int | None = None
    processor_retry_attempts: int = 2
    log_retention_days: int = 90
    noncurrent_version_days: int = 30
    db_backup_retention_days: int = 35
    extra_cors_origins: tuple[str, ...] = field(default_factory=tuple)
    custom_domain: str | None = None
    certificate_arn: str | None = None
    allowed_countries: tuple[str, ...] = field(default_factory=tuple)
    # None: the first zone Fn::GetAZs returns (make preflight says which zone id that is).
    availability_zone: str | None = None
    # Stack termination protection (the instance's guard against an accidental delete).
    termination_protection: bool = True
    # "single": one instance, SQLite on EBS. "ha": an Auto Scaling group over two
    # zones behind an internal ALB, on RDS for PostgreSQL Multi-AZ (stacks/app_fleet.py).
    mode: str = "single"
    ha_db_instance_class: str = "db.t4g.small"
    ha_db_storage_gib: int = 20
    ha_min_instances: int = 2
    ha_max_instances: int = 4
    waf_enabled: bool = True  # AWS WAF in front of CloudFront (stacks/waf.py; us-east-1 only)

    @property
    def log_retention(self) -> logs.RetentionDays:
        from aws_cdk import aws_logs as logs

        return getattr(logs.RetentionDays, _LOG_RETENTION[self.log_retention_days])


def _key(name: str) -> str:
    return f"{CONTEXT_KEY}.{name}"


def _int(raw: dict[str, Any], name: str, default: int, lo: int, hi: int) -> int:
    value = raw.get(name, default)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"cdk.json context '{_key(name)}' must be an integer, got {value!r}")
    if not lo <= value <= hi:
        raise ConfigError(f"cdk.json context '{_key(name)}' must be between {lo} and {hi}, got {value}")
    return value


def _optional_int(raw: dict[str, Any], name: str, lo: int, hi: int) -> int | None:
    if raw.get(name) in (None, "", "null"):
        return None
    return _int(raw, name, 0, lo, hi)


def _str_list(raw: dict[str, Any], name: str, pattern: re.Pattern[str], what: str) -> tuple[str, ...]:
    value = raw.get(name, [])
    if isinstance(value, str):
        value = json.loads(value) if value.strip().startswith("[") else [v for v in value.split(",") if v]
    if not isinstance(value, list):
        raise ConfigError(f"cdk.json context '{_key(name)}' must be a list of {what}, got {value!r}")
    for item in value:
        if not isinstance(item, str) or not pattern.match(item):
            raise ConfigError(f"cdk.json context '{_key(name)}' has {item!r}, which is not {what}")
    return tuple(value)


def _optional_str(raw: dict[str, Any], name: str, pattern: re.Pattern[str], what: str) -> str | None:
    value = raw.get(name)
    if value in (None, ""):
        return None
    if not isinstance(value, str) or not pattern.match(value):
        raise ConfigError(f"cdk.json context '{_key(name)}' must be {what}, got {value!r}")
    return value


def _bool(raw: dict[str, Any], name: str, default: bool) -> bool:
    value = raw.get(name, default)
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        value = value.strip().lower() == "true"
    if not isinstance(value, bool):
        raise ConfigError(f"cdk.json context '{_key(name)}' must be true or false, got {value!r}")
    return value


def load_config(node: Node) -> ClinicConfig:
    """Read and validate `clinic` from the app's context."""
    return parse_config(node.try_get_context(CONTEXT_KEY) or {}, _all_context(node))


def from_cdk_json(path: Path = CDK_JSON) -> ClinicConfig:
    """The settings cdk.json gives a synth without `-c` overrides (the local run uses
    them, so it mirrors what a plain `cdk deploy` builds)."""
    context = json.loads(path.read_text())["context"]
    return parse_config(context.get(CONTEXT_KEY) or {}, context)


def _merged(raw: Any, context: dict[str, Any]) -> dict[str, Any]:
    """`clinic` as an object, with the `clinic.<key>` overrides of ``context`` applied; unknown keys refused."""
    if isinstance(raw, str):
        raw = json.loads(raw)
    if not isinstance(raw, dict):
        raise ConfigError(f"cdk.json context '{CONTEXT_KEY}' must be an object, got {raw!r}")
    # `-c clinic.key=value` arrives as a separate flat context key; let it win.
    # Every such key is checked, not only the known ones: a misspelt
    # `-c clinic.instnce_type=...` must stop the synth, not vanish.
    for flat_key, override in sorted(context.items()):
        if not flat_key.startswith(f"{CONTEXT_KEY}."):
            continue
        name = flat_key[len(CONTEXT_KEY) + 1 :]
        if name not in ClinicConfig.__dataclass_fields__:
            raise ConfigError(f"command-line context '{flat_key}' is not a known setting (known: {', '.join(ClinicConfig.__dataclass_fields__)})")
        raw = {**raw, name: _parse_cli(override)}
    unknown = sorted(set(raw) - set(ClinicConfig.__dataclass_fields__))
    if unknown:
        raise ConfigError(f"cdk.json context '{_key(unknown[0])}' is not a known setting")
    return raw


def _domain_and_certificate(raw: dict[str, Any]) -> tuple[str | None, str | None]:
    domain = _optional_str(raw, "custom_domain", _DOMAIN, "a lower-case domain name")
    certificate = _optional_str(
        raw, "certificate_arn", _ACM_ARN, "an ACM certificate ARN in us-east-1 (CloudFront needs it there)"
    )
    if bool(domain) != bool(certificate):
        missing = "certificate_arn" if domain else "custom_domain"
        raise ConfigError(f"cdk.json context '{_key(missing)}' is required when the other of custom_domain/certificate_arn is set")
    return domain, certificate


def _mode_settings(raw: dict[str, Any], defaults: ClinicConfig) -> tuple[str, str, int, int, int]:
    """mode, the RDS class, the group's bounds and the database backup retention, checked together."""
    mode = raw.get("mode", defaults.mode)
    if mode not in MODES:
        raise ConfigError(f"cdk.json context '{_key('mode')}' must be one of {', '.join(MODES)}, got {mode!r}")
    db_class = raw.get("ha_db_instance_class", defaults.ha_db_instance_class)
    if not isinstance(db_class, str) or not _DB_CLASS.match(db_class):
        raise ConfigError(
            f"cdk.json context '{_key('ha_db_instance_class')}' must be a Graviton RDS class such as "
            f"db.t4g.small, got {db_class!r}"
        )
    min_instances = _int(raw, "ha_min_instances", defaults.ha_min_instances, 2, 20)
    max_instances = _int(raw, "ha_max_instances", defaults.ha_max_instances, 2, 20)
    if max_instances < min_instances:
        raise ConfigError(
            f"cdk.json context '{_key('ha_max_instances')}' must be at least ha_min_instances ({min_instances}), "
            f"got {max_instances}"
        )
    db_retention = _int(raw, "db_backup_retention_days", defaults.db_backup_retention_days, 1, 3650)
    if mode == "ha":
        if db_retention > RDS_MAX_BACKUP_RETENTION_DAYS:
            raise ConfigError(
                f"cdk.json context '{_key('db_backup_retention_days')}' must be at most "
                f"{RDS_MAX_BACKUP_RETENTION_DAYS} in mode ha (RDS point-in-time recovery), got {db_retention}"
            )
        if raw.get("availability_zone") not in (None, ""):
            raise ConfigError(
                f"cdk.json context '{_key('availability_zone')}' applies to mode single only; mode ha spreads "
                "over the region's first two zones (set it to null)"
            )
    return mode, db_class, min_instances, max_instances, db_retention


def parse_config(raw: Any, context: dict[str, Any]) -> ClinicConfig:
    """Validate `clinic` (with `clinic.<key>` overrides from ``context``)."""
    raw = _merged(raw, context)
    defaults = ClinicConfig()
    instance_type = raw.get("instance_type", defaults.instance_type)
    if not isinstance(instance_type, str) or not _GRAVITON_TYPE.match(instance_type):
        raise ConfigError(
            f"cdk.json context '{_key('instance_type')}' must be a Graviton (arm64) instance type "
            f"such as t4g.small, got {instance_type!r}"
        )
    retention = _int(raw, "log_retention_days", defaults.log_retention_days, 1, 3653)
    if retention not in _LOG_RETENTION:
        raise ConfigError(
            f"cdk.json context '{_key('log_retention_days')}' must be one of "
            f"{sorted(_LOG_RETENTION)}, got {retention}"
        )
    domain, certificate = _domain_and_certificate(raw)
    mode, db_class, min_instances, max_instances, db_retention = _mode_settings(raw, defaults)
    return ClinicConfig(
        mode=mode,
        ha_db_instance_class=db_class,
        ha_db_storage_gib=_int(raw, "ha_db_storage_gib", defaults.ha_db_storage_gib, 20, 6144),
        ha_min_instances=min_instances,
        ha_max_instances=max_instances,
        instance_type=instance_type,
        data_volume_gib=_int(raw, "data_volume_gib", defaults.data_volume_gib, 1, 16384),
        data_volume_iops=_int(raw, "data_volume_iops", defaults.data_volume_iops, 3000, 16000),
        snapshot_retention_days=_int(raw, "snapshot_retention_days", defaults.snapshot_retention_days, 1, 365),
        processor_memory_mb=_int(raw, "processor_memory_mb", defaults.processor_memory_mb, 128, 10240),
        processor_timeout_seconds=_int(raw, "processor_timeout_seconds", defaults.processor_timeout_seconds, 3, 900),
        processor_reserved_concurrency=_optional_int(raw, "processor_reserved_concurrency", 1, 1000),
        processor_retry_attempts=_int(raw, "processor_retry_attempts", defaults.processor_retry_attempts, 0, 2),
        log_retention_days=retention,
        noncurrent_version_days=_int(raw, "noncurrent_version_days", defaults.noncurrent_version_days, 1, 3650),
        db_backup_retention_days=db_retention,
        extra_cors_origins=_str_list(raw, "extra_cors_origins", _ORIGIN, "an https origin like https://clinica.example.com"),
        custom_domain=domain,
        certificate_arn=certificate,
        allowed_countries=_str_list(raw, "allowed_countries", _COUNTRY, "an ISO 3166 alpha-2 country code like BR"),
        availability_zone=_optional_str(
            raw, "availability_zone", _AZ_NAME, "an Availability Zone name such as sa-east-1a (or null)"
        ),
        termination_protection=_bool(raw, "termination_protection", defaults.termination_protection),
        waf_enabled=_bool(raw, "waf_enabled", defaults.waf_enabled),
    )


def _all_context(node: Node) -> dict[str, Any]:
    """Every context value the app sees: cdk.json, cdk.context.json and `-c` flags."""
    return dict(node.get_all_context() or {})


def _parse_cli(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value
