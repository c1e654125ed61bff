"""Each LOB's monthly cost budget, in the management account.

Budgets live where billing does: a budget in a member account sees only that account's
spend, so the LOB budgets are made in the management account and filtered on the LOB's own
accounts (every environment of an LOB is a dedicated account, so no cost allocation tag has
to be activated first). Sharded (``LOBS_PER_BUDGET_STACK``) so no template grows with the
organization.

In the centralized operating model an LOB's GenAI runs in central accounts shared with other
LOBs: its budget then covers its own accounts and the central ones, on the spend tagged with
the LOB (the ``lob`` cost allocation tag, which every resource of the platform carries,
application inference profiles included; activate it in Billing). Spend that carries no tag is
not counted there: docs/platform-engineers.md "Operating models" says which.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_budgets as budgets
from constructs import Construct

from blueprint.model.inputs.budgets import LobBudgetInputs
from genai_constructs.naming import pascal

LOBS_PER_BUDGET_STACK = 50
# (notification type, percentage of the monthly limit)
THRESHOLDS = (("ACTUAL", 80), ("FORECASTED", 100))


class LobBudgetsStack(Stack):
    """A monthly cost budget per LOB over its accounts, alerting its addresses by email at
    80 % actual and 100 % forecast spend.

    :param org_name: name prefix of the budgets, e.g. ``example-corp``.
    :param lobs: each LOB's limit, accounts and alert addresses (1 to 10).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        org_name: str,
        lobs: Sequence[LobBudgetInputs],
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        for lob in lobs:
            if not 1 <= len(lob.alert_emails) <= 10:
                raise ValueError(
                    f"LobBudgetsStack: LOB '{lob.name}' has {len(lob.alert_emails)} alert "
                    "addresses; allowed: 1 to 10 (a budget notification's subscriber limit)"
                )
            filters: dict[str, list[str]] = {"LinkedAccount": list(lob.accounts)}
            if lob.tenancy_accounts:
                filters = {
                    "LinkedAccount": sorted({*lob.accounts, *lob.tenancy_accounts}),
                    "TagKeyValue": [f"user:lob${lob.name}"],
                }
            self._budget(org_name, lob, filters)

    def _budget(
        self, org_name: str, lob: LobBudgetInputs, cost_filters: dict[str, list[str]]
    ) -> budgets.CfnBudget:
        subscribers = [
            budgets.CfnBudget.SubscriberProperty(subscription_type="EMAIL", address=address)
            for address in lob.alert_emails
        ]
        return budgets.CfnBudget(
            self,
            f"{pascal(lob.name)}Budget",
            budget=budgets.CfnBudget.BudgetDataProperty(
                budget_name=f"{org_name}-{lob.name}-monthly",
                budget_type="COST",
                time_unit="MONTHLY",
                budget_limit=budgets.CfnBudget.SpendProperty(
                    amount=lob.budget_usd_month, unit="USD"
                ),
                cost_filters=cost_filters,
            ),
            notifications_with_subscribers=[
                budgets.CfnBudget.NotificationWithSubscribersProperty(
                    notification=budgets.CfnBudget.NotificationProperty(
                        comparison_operator="GREATER_THAN",
                        notification_type=kind,
                        threshold=threshold,
                        threshold_type="PERCENTAGE",
                    ),
                    subscribers=subscribers,
                )
                for kind, threshold in THRESHOLDS
            ],
        )
