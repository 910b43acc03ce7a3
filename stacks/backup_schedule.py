"""The daily AWS Backup rule, one definition for both shapes (the data volume
of mode single, the database of mode ha)."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_backup as backup
from aws_cdk import aws_events as events


def daily_rule(rule_name: str, retention_days: int) -> backup.BackupPlanRule:
    # 06:00 UTC = 03:00 in São Paulo, when the clinic is closed.
    return backup.BackupPlanRule(
        rule_name=rule_name,
        schedule_expression=events.Schedule.cron(hour="6", minute="0"),
        start_window=Duration.hours(1),
        completion_window=Duration.hours(4),
        delete_after=Duration.days(retention_days),
    )
