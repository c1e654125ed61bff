"""Who hears an alarm: every alarm topic of an LOB account is subscribed to the LOB's alert
addresses (``lobs[].alert_emails``, else ``platform.alert_emails``)."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct


def subscribe(topic: sns.ITopic, emails: Sequence[str]) -> None:
    """An email subscription of ``topic`` per address (each confirms it once)."""
    for address in emails:
        topic.add_subscription(subscriptions.EmailSubscription(address))


def alarm_topic(
    scope: Construct, construct_id: str, key: kms.IKey, emails: Sequence[str], display_name: str
) -> sns.Topic:
    """An encrypted, TLS-only topic of alarms, subscribed to ``emails``."""
    topic = sns.Topic(
        scope, construct_id, master_key=key, enforce_ssl=True, display_name=display_name
    )
    subscribe(topic, emails)
    return topic
