"""The governance stacks' inputs: the LOBs the dashboards watch, the regions of the
metrics sinks.
"""

from __future__ import annotations

from dataclasses import dataclass

from blueprint.model import names
from blueprint.model.fields import EnvironmentName
from blueprint.model.plan import Plan


@dataclass(frozen=True)
class WatchedEnvironment:
    environment: EnvironmentName
    account: str
    metric_namespace: str


@dataclass(frozen=True)
class LobOversightInputs:
    """What the governance account watches of one LOB: its metrics."""

    name: str
    region: str
    environments: tuple[WatchedEnvironment, ...]


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
        watched.append(
            LobOversightInputs(
                name=lob.name,
                region=workspaces[0].region,
                environments=tuple(
                    WatchedEnvironment(
                        environment=w.environment,
                        account=w.account,
                        metric_namespace=names.metric_namespace(w.key),
                    )
                    for w in workspaces
                    if w.environment is not None
                ),
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
