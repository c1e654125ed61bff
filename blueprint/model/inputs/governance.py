"""The governance stacks' inputs: the LOBs the dashboards watch, the regions of the
metrics sinks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from blueprint.model import names
from blueprint.model.fields import EnvironmentName
from blueprint.model.plan import Plan
from blueprint.model.prices import snapshot_token_prices


@dataclass(frozen=True)
class WatchedEnvironment:
    """An LOB environment's metrics: its account (its tenancy's, where it has one), its GenAI
    metric namespace and its use cases (name, model), whose tokens the chargeback reads."""

    environment: EnvironmentName
    account: str
    metric_namespace: str
    use_cases: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class LobOversightInputs:
    """What the governance account watches of one LOB: its metrics, and the per-token prices
    of its use cases' models (from the price snapshot) for its chargeback."""

    name: str
    region: str
    environments: tuple[WatchedEnvironment, ...]
    token_prices: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    price_source: str = ""


def oversight_inputs(plan: Plan) -> list[LobOversightInputs]:
    """Every LOB in config order (none in the decentralized model); its metrics are read in
    the region of its first environment's workspace (its own account, or its tenancy)."""
    if not plan.central_oversight:
        return []
    watched = []
    for lob in plan.config.lobs:
        workspaces = [
            workspace
            for name, _ in lob.environments.items()
            for workspace in [plan.workspace(lob, name)]
            if workspace is not None and workspace.environment is not None
        ]
        use_cases = tuple((use.name, use.model) for use in lob.genai.use_cases)
        prices, source = snapshot_token_prices(sorted({model for _, model in use_cases}))
        watched.append(
            LobOversightInputs(
                name=lob.name,
                region=workspaces[0].region,
                environments=tuple(
                    WatchedEnvironment(
                        environment=w.environment,
                        account=w.account,
                        metric_namespace=names.metric_namespace(w.key),
                        use_cases=use_cases,
                    )
                    for w in workspaces
                    if w.environment is not None
                ),
                token_prices=prices,
                price_source=source,
            )
        )
    return watched


def sink_regions(plan: Plan) -> list[str]:
    """Regions with LOB environments, other than the governance account's own (whose sink is
    the governance stack's)."""
    home = plan.governance.region
    if not plan.central_oversight:
        return []
    return sorted({p.region for p in plan.lob_environments()} - {home})
