"""An alarm of the platform: one breach in five minutes (or ``threshold``) announced on a
topic, no data counting as no breach."""

from __future__ import annotations

from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_sns as sns
from constructs import Construct


def announced_alarm(
    scope: Construct,
    construct_id: str,
    *,
    description: str,
    metric: cloudwatch.IMetric,
    topic: sns.ITopic,
    threshold: float = 1,
    announce_recovery: bool = False,
) -> cloudwatch.Alarm:
    """An alarm when ``metric`` reaches ``threshold`` in one period, sent to ``topic`` (and,
    with ``announce_recovery``, its return to OK)."""
    alarm = cloudwatch.Alarm(
        scope,
        construct_id,
        alarm_description=description,
        metric=metric,
        threshold=threshold,
        evaluation_periods=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )
    action = actions.SnsAction(topic)
    alarm.add_alarm_action(action)
    if announce_recovery:
        alarm.add_ok_action(action)
    return alarm
