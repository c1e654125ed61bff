"""The budget stacks' inputs: each LOB's monthly budget."""

from __future__ import annotations

from dataclasses import dataclass

from blueprint.model.plan import Plan


@dataclass(frozen=True)
class LobBudgetInputs:
    """One LOB's monthly budget over the spend of its accounts, and who hears about it."""

    name: str
    budget_usd_month: int
    accounts: tuple[str, ...]
    alert_emails: tuple[str, ...]
    tenancy_accounts: tuple[str, ...] = ()


def budget_inputs(plan: Plan) -> list[LobBudgetInputs]:
    """Every LOB in config order, with the accounts of all its environments."""
    return [
        LobBudgetInputs(
            name=lob.name,
            budget_usd_month=lob.budget_usd_month,
            accounts=tuple(env.account for _, env in lob.environments.items()),
            alert_emails=tuple(plan.alert_emails(lob)),
            tenancy_accounts=tuple(
                p.account for p in plan.lob_environments() if p.lob == lob and p.is_tenancy
            ),
        )
        for lob in plan.config.lobs
    ]
