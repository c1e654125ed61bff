"""Who hears an alarm: every alarm topic of an LOB account is subscribed to the LOB's alert
addresses (``lobs[].alert_emails``, else ``platform.alert_emails``)."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions


def subscribe(topic: sns.ITopic, emails: Sequence[str]) -> None:
    """An email subscription of ``topic`` per address (each confirms it once)."""
    for address in emails:
        topic.add_subscription(subscriptions.EmailSubscription(address))
