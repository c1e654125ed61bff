"""Placement decisions: computed once from the config, read by every stack."""

from __future__ import annotations

from blueprint.model.config import OrgConfig
from blueprint.model.identity import PlacementKind
from blueprint.model.personas import DATA_SCIENTIST
from blueprint.model.placing import plan_for


def test_one_placement_per_platform_account_and_lob_environment(example_config: OrgConfig) -> None:
    plan = plan_for(example_config)
    assert [p.key for p in plan.placements] == [
        "platform-governance",
        "platform-tooling",
        "platform-hub",
        "claims-interactive",
        "claims-nonprod",
        "claims-prod",
        "marketing-interactive",
        "marketing-nonprod",
        "marketing-prod",
        "research-interactive",
        "research-nonprod",
        "research-prod",
    ]
    assert plan.governance.account == "222222222222"
    assert plan.governance.kind is PlacementKind.GOVERNANCE
    assert len({p.account for p in plan.placements}) == len(plan.placements)


def test_data_scientists_exist_only_in_interactive_environments(example_config: OrgConfig) -> None:
    for placement in plan_for(example_config).placements:
        has_data_scientist = DATA_SCIENTIST in placement.personas
        assert has_data_scientist == placement.key.endswith("-interactive"), placement.key


def test_retention_and_protection(example_config: OrgConfig) -> None:
    placements = {p.key: p for p in plan_for(example_config).placements}
    assert placements["marketing-interactive"].retain_stateful is False
    assert placements["claims-interactive"].retain_stateful is True
    assert all(
        placements[f"{lob}-{env}"].retain_stateful
        for lob in ("claims", "marketing", "research")
        for env in ("nonprod", "prod")
    )
    assert {k for k, p in placements.items() if p.termination_protection} == {
        "platform-governance",
        "platform-tooling",
        "platform-hub",
        "claims-prod",
        "marketing-prod",
        "research-prod",
    }


def test_tags_name_lob_environment_cost_center_and_classification(
    example_config: OrgConfig,
) -> None:
    placements = {p.key: p for p in plan_for(example_config).placements}
    assert placements["research-nonprod"].tags == {
        "lob": "research",
        "environment": "nonprod",
        "cost-center": "CC-3003",
        "data-classification": "restricted",
        "managed-by": "genai-platform-blueprint",
    }
    assert placements["platform-tooling"].tags["lob"] == "platform"
