"""The operating models of `organization.operating_model`: the example synthesized under each,
where its guardrails, knowledge bases and endpoints are, the access catalog under each, what
switching models puts at risk, and the config rules of each model."""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import yaml
from aws_cdk import App

from blueprint.assembly.access.catalog import applies, catalog_queries, load_catalog, run_catalog
from blueprint.assembly.access.evaluate import Evaluator
from blueprint.assembly.access.question import Questions
from blueprint.assembly.access.world import build_world
from blueprint.assembly.audit import operating_model
from blueprint.assembly.audit_tables import operating_model_table
from blueprint.assembly.lint import lint_templates
from blueprint.assembly.reader import read_assembly
from blueprint.assembly.replacement import resources_at_risk, stateful_changes
from blueprint.cli import guard_replacements
from blueprint.model.endpoints import interface_endpoints
from blueprint.model.errors import ConfigError
from blueprint.model.identity import Layer
from blueprint.model.loader import load_config
from blueprint.model.plan import Plan
from blueprint.model.sections.organization import OperatingModel
from blueprint.model.settings import Settings
from stacks import synthesize
from stacks.compliance import app_props
from stacks.pipeline import build_delivery
from tests.conftest import EXAMPLE, Synthesized, feature_flags, joined, synthesize_org
from tests.simulator_requests import compare, unexplained

Json = dict[str, Any]
CENTRAL_NONPROD = "777777777772"
CLAIMS_NONPROD = "555555555555"
# What the claims LOB approves for itself under the decentralized model: not nova-lite.
CLAIMS_CATALOG = ["amazon.nova-pro-v1:0", "amazon.titan-embed-text-v2:0"]
CLAIMS_GUARDRAIL = {
    "content_filters": {"misconduct": "high"},
    "pii": {"PHONE": "block", "NAME": "anonymize"},
    "denied_topics": [{"name": "legal-advice", "definition": "Advice on a claim's legal merits."}],
    "grounding_threshold": 0.85,
}
# The resources the acceptance names, by the template type that holds them.
HUB_ACCOUNT = "888888888888"
PLACED_TYPES = {
    "guardrail": "AWS::Bedrock::Guardrail",
    "knowledge base": "AWS::Bedrock::KnowledgeBase",
    "endpoint": "AWS::SageMaker::Endpoint",
    "agent": "AWS::BedrockAgentCore::Runtime",
}


def example_data(model: OperatingModel) -> Json:
    data: Json = yaml.safe_load(EXAMPLE.read_text())
    data["organization"]["operating_model"] = model.value
    if model is not OperatingModel.FEDERATED:
        # The hub is the federated model's.
        del data["platform"]["hub"]
    if model is OperatingModel.CENTRALIZED:
        # The recipe image is built where the pipelines run, the agents' images kept where
        # nonprod's agents run: the tenancy's central account.
        central = data["platform"]["central_accounts"]["nonprod"]
        for lob in data["lobs"]:
            for agent in lob["genai"].get("agents", []):
                _, _, rest = agent["image"].partition(".")
                agent["image"] = f"{central}.{rest}"
            for tuning in lob.get("ml", {}).get("fine_tuning", []):
                _, _, rest = tuning["recipe_image"].partition(".")
                tuning["recipe_image"] = f"{central}.{rest}"
    return data


def load(data: Json, tmp_path: Path) -> Any:
    path = tmp_path / "org.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return load_config(path)


def problems(data: Json, tmp_path: Path) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        load(data, tmp_path)
    return [line.split(": ", 1)[1] for line in raised.value.lines()]


def decentralized_data() -> Json:
    data = example_data(OperatingModel.DECENTRALIZED)
    claims = data["lobs"][0]
    claims["genai"]["catalog"] = CLAIMS_CATALOG
    claims["genai"]["guardrails"] = CLAIMS_GUARDRAIL
    return data


@pytest.fixture(scope="module")
def centralized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """Every stack passes the four nag packs and the platform's pack, or synthesis fails."""
    directory = tmp_path_factory.mktemp("centralized")
    config = load(example_data(OperatingModel.CENTRALIZED), directory)
    return synthesize_org(config, directory / "cdk.out")


@pytest.fixture(scope="module")
def decentralized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    directory = tmp_path_factory.mktemp("decentralized")
    return synthesize_org(load(decentralized_data(), directory), directory / "cdk.out")


def placed(synthesized: Synthesized) -> dict[str, set[str]]:
    """The accounts that hold each resource of ``PLACED_TYPES``."""
    found: dict[str, set[str]] = defaultdict(set)
    for stack in read_assembly(synthesized.outdir).stacks:
        types = {resource["Type"] for resource in stack.resources.values()}
        for what, resource_type in PLACED_TYPES.items():
            if resource_type in types:
                found[what].add(stack.account)
    return found


def lob_accounts(synthesized: Synthesized) -> set[str]:
    return {
        env.account for lob in synthesized.plan.config.lobs for _, env in lob.environments.items()
    }


def central_accounts(synthesized: Synthesized) -> set[str]:
    central = synthesized.plan.config.platform.central_accounts
    return {account for account in (central.interactive, central.nonprod, central.prod) if account}


# --- where things live ------------------------------------------------------------------


def test_federated_puts_every_layer_in_the_lob_accounts(example: Synthesized) -> None:
    claims = example.plan.placement("claims-nonprod")
    assert (claims.account, claims.layers) == (
        CLAIMS_NONPROD,
        (Layer.SECURITY, Layer.FOUNDATION, Layer.DATA, Layer.GENAI, Layer.ML),
    )
    assert claims.prefix == "example-corp"
    assert not any(p.is_tenancy for p in example.plan.placements)
    found = placed(example)
    assert set(found) == set(PLACED_TYPES)
    # The hub holds its guardrail and shared agent; all else is in the LOB accounts.
    assert all(accounts <= lob_accounts(example) | {HUB_ACCOUNT} for accounts in found.values())
    assert found["agent"] == {"444444444444", "555555555555", "666666666666", HUB_ACCOUNT}


def test_centralized_puts_guardrails_knowledge_bases_and_endpoints_in_the_central_accounts(
    centralized: Synthesized,
) -> None:
    found = placed(centralized)
    assert found["guardrail"] == central_accounts(centralized)
    assert found["knowledge base"] == central_accounts(centralized)
    assert found["endpoint"] == {"777777777772", "777777777773"}
    # Claims' agent runs in its tenancies, like its use case.
    assert found["agent"] == central_accounts(centralized)


def test_centralized_keeps_each_lobs_data_lake_in_its_own_account(
    centralized: Synthesized,
) -> None:
    plan = centralized.plan
    own, tenancy = plan.placement("claims-nonprod"), plan.placement("claims-nonprod-central")
    assert (own.account, own.layers) == (
        CLAIMS_NONPROD,
        (Layer.SECURITY, Layer.FOUNDATION, Layer.DATA),
    )
    assert own.tenancy == tenancy.key and tenancy.tenancy_of == own.key
    assert (tenancy.account, tenancy.prefix) == (CENTRAL_NONPROD, "example-corp-claims")
    assert tenancy.hosts(Layer.GENAI) and tenancy.hosts(Layer.ML)
    names = set(centralized.stack_names())
    assert {
        "claims-nonprod-data",
        "claims-nonprod-central-genai",
        "claims-nonprod-central-ml",
    } <= names
    assert "claims-nonprod-genai" not in names
    assert plan.workspace(own.lob, own.environment) == tenancy  # type: ignore[arg-type]


def test_centralized_tenancies_of_one_account_share_no_fixed_name(centralized: Synthesized) -> None:
    roles_by_account: dict[str, list[str]] = defaultdict(list)
    for stack in read_assembly(centralized.outdir).stacks:
        for resource in stack.resources.values():
            name = resource.get("Properties", {}).get("RoleName")
            if resource["Type"] == "AWS::IAM::Role" and isinstance(name, str):
                roles_by_account[stack.account].append(name)
    central = roles_by_account[CENTRAL_NONPROD]
    assert len(central) == len(set(central))
    assert "example-corp-claims-app-claims-assistant" in central
    assert "example-corp-research-ml-engineer" in central


def test_centralized_budgets_follow_each_lobs_spend_by_tag(centralized: Synthesized) -> None:
    budgets = centralized.template("organization-budgets-1").find_resources("AWS::Budgets::Budget")
    claims = next(
        b["Properties"]["Budget"]
        for b in budgets.values()
        if b["Properties"]["Budget"]["BudgetName"] == "example-corp-claims-monthly"
    )
    own = {env.account for _, env in centralized.plan.config.lobs[0].environments.items()}
    assert claims["CostFilters"] == {
        "LinkedAccount": sorted(own | central_accounts(centralized)),
        "TagKeyValue": ["user:lob$claims"],
    }
    assert claims["BudgetLimit"]["Amount"] == 5000
    assert len(budgets) == len(centralized.plan.config.lobs)


def test_decentralized_keeps_only_the_organization_policies_and_log_archive_central(
    decentralized: Synthesized, example: Synthesized
) -> None:
    names = set(decentralized.stack_names())
    assert not any("oversight" in name or "metrics-sink" in name for name in names)
    assert "platform-governance-audit" in names and "organization-policies" in names
    audit = decentralized.template_json("platform-governance-audit")
    statements = [
        s.get("Sid")
        for r in audit["Resources"].values()
        if r["Type"] == "AWS::IAM::ManagedPolicy"
        for s in r["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert "ReadLogArchiveObjects" in statements
    assert "AssumeTheAuditorOfEachAccount" not in statements
    foundation = decentralized.template("claims-nonprod-foundation")
    assert foundation.find_resources("AWS::Oam::Link") == {}
    assert example.template("claims-nonprod-foundation").find_resources("AWS::Oam::Link")
    # Everything where the federated model puts it, but the hub's (federated only).
    assert placed(decentralized) == {
        what: accounts - {HUB_ACCOUNT} for what, accounts in placed(example).items()
    }


def test_decentralized_lob_guardrail_is_the_organizations_made_stricter(
    decentralized: Synthesized,
) -> None:
    guardrail = next(
        iter(
            decentralized.template("claims-nonprod-genai")
            .find_resources("AWS::Bedrock::Guardrail")
            .values()
        )
    )["Properties"]
    pii = {
        e["Type"]: e["Action"]
        for e in guardrail["SensitiveInformationPolicyConfig"]["PiiEntitiesConfig"]
    }
    assert pii["PHONE"] == "BLOCK" and pii["NAME"] == "ANONYMIZE" and pii["EMAIL"] == "ANONYMIZE"
    topics = [t["Name"] for t in guardrail["TopicPolicyConfig"]["TopicsConfig"]]
    assert topics == ["investment-advice", "legal-advice"]
    grounding = guardrail["ContextualGroundingPolicyConfig"]["FiltersConfig"]
    assert {"Type": "GROUNDING", "Threshold": 0.85} in grounding
    research = decentralized.template("research-nonprod-genai").find_resources(
        "AWS::Bedrock::Guardrail"
    )
    assert "legal-advice" not in str(research)


# --- access -------------------------------------------------------------------------------


def catalog_outcomes(synthesized: Synthesized) -> list[Any]:
    world = build_world(read_assembly(synthesized.outdir))
    return run_catalog(world, synthesized.plan)


def applicable(plan: Plan) -> set[str]:
    return {e.id for e in load_catalog() if applies(e, plan)}


def test_the_catalog_holds_under_the_centralized_model(centralized: Synthesized) -> None:
    outcomes = catalog_outcomes(centralized)
    assert [o.query.entry.id for o in outcomes if not o.matches] == []
    assert {o.query.entry.id for o in outcomes} == applicable(centralized.plan)
    assert {o.query.placement for o in outcomes} == {
        p.key for p in centralized.plan.lob_environments()
    }
    # Another LOB's attacks are asked from another tenancy of the same central account.
    same_account = [
        o
        for o in outcomes
        if o.query.step.principal.startswith("other-lob/")
        and not o.query.step.principal.startswith("other-lob/home/")
        and o.query.placement.endswith("-central")
        and o.query.actor.principal.account == o.query.target.account
    ]
    assert len(same_account) > 100
    # claims and research share eu-west-1: claims' tenancies are attacked from research's.
    assert {
        o.query.actor.label.split(":")[1].split("-")[2]
        for o in same_account
        if o.query.placement.startswith("claims-")
    } == {"research"}
    assert {o.decision.decision for o in same_account} == {"deny"}


def test_the_catalog_holds_under_the_decentralized_model(decentralized: Synthesized) -> None:
    outcomes = catalog_outcomes(decentralized)
    assert [o.query.entry.id for o in outcomes if not o.matches] == []
    assert {o.query.entry.id for o in outcomes} == applicable(decentralized.plan)
    # The model claims left out of its own catalog is denied to its applications.
    refused = {
        (o.query.placement, o.query.target.label)
        for o in outcomes
        if o.query.entry.id == "application-above-the-lob-classification"
    }
    assert ("claims-nonprod", "model/amazon.nova-lite-v1:0") in refused


def test_an_lob_account_reaches_only_its_own_tenancy(centralized: Synthesized) -> None:
    outcomes = catalog_outcomes(centralized)
    decided = {
        (o.query.entry.id, o.query.placement, o.query.actor.label, o.decision.decision)
        for o in outcomes
        if o.query.step.principal.startswith(("home/", "other-lob/home/"))
    }
    assert (
        "app-becomes-its-tenancy-role",
        "claims-nonprod-central",
        f"{CLAIMS_NONPROD}:example-corp-app-claims-assistant",
        "allow",
    ) in decided
    assert (
        "another-lobs-application-cannot-become-this-tenancys-role",
        "research-nonprod-central",
        f"{CLAIMS_NONPROD}:example-corp-app-claims-assistant",
        "deny",
    ) in decided


# --- compliance and switching ----------------------------------------------------------


def changed_templates(synthesized: Synthesized, example: Synthesized) -> dict[str, list[str]]:
    """The templates (by region) that differ from the federated example's."""
    federated = {
        stack.name: hashlib.sha256(stack.template_path.read_bytes()).digest()
        for stack in read_assembly(example.outdir).stacks
    }
    changed: dict[str, list[str]] = defaultdict(list)
    for stack in read_assembly(synthesized.outdir).stacks:
        if federated.get(stack.name) != hashlib.sha256(stack.template_path.read_bytes()).digest():
            changed[stack.region].append(str(stack.template_path))
    return changed


@pytest.mark.parametrize("model", ["centralized", "decentralized"])
def test_every_template_a_model_changes_is_cfn_lint_clean(
    model: str, request: pytest.FixtureRequest, example: Synthesized
) -> None:
    changed = changed_templates(request.getfixturevalue(model), example)
    assert sum(map(len, changed.values())) > 5
    assert [f for region, paths in changed.items() for f in lint_templates(region, paths)] == []


def test_switching_to_centralized_lists_the_stateful_resources_it_puts_at_risk(
    example: Synthesized, centralized: Synthesized, capsys: pytest.CaptureFixture[str]
) -> None:
    at_risk = stateful_changes(example.outdir, centralized.outdir)
    by_type: dict[str, set[str]] = defaultdict(set)
    for item in at_risk:
        by_type[item.resource_type].add(f"{item.account}/{item.stack}")
    assert f"{CLAIMS_NONPROD}/claims-nonprod-data" in by_type["AWS::S3Vectors::VectorBucket"]
    assert f"{CLAIMS_NONPROD}/claims-nonprod-ml" in by_type["AWS::SageMaker::ModelPackageGroup"]
    assert "444444444444/claims-interactive-ml" in by_type["AWS::SageMaker::Domain"]
    assert "555555555557/research-nonprod-data" in by_type["AWS::OpenSearchServerless::Collection"]
    # The LOB's data lake stays: no zone bucket of an LOB's data stack is at risk (the hub's
    # go with the hub, which the centralized model has not).
    assert not any(
        item.stack.endswith("-data")
        and not item.stack.startswith("platform-hub")
        and item.resource_type == "AWS::S3::Bucket"
        for item in at_risk
    )
    assert any(item.stack == "platform-hub-data" for item in at_risk)
    lost = resources_at_risk(example.outdir, centralized.outdir)
    orphaned = [item for item in at_risk if item.orphaned]
    # The data lakes' and vector stores' resources are retained (orphaned in the LOB account);
    # Studio domains, MLflow servers and model registries are not: those are lost.
    assert any(
        item.stack == "claims-nonprod-data" and item.resource_type == "AWS::S3Vectors::VectorBucket"
        for item in orphaned
    )
    assert {(item.stack, item.resource_type) for item in lost} >= {
        ("claims-interactive-ml", "AWS::SageMaker::Domain"),
        ("claims-nonprod-ml", "AWS::SageMaker::ModelPackageGroup"),
    }
    assert guard_replacements(example.outdir, centralized.outdir) == 3
    out = capsys.readouterr().out
    assert f"ORPHANED {CLAIMS_NONPROD}/claims-nonprod-data/" in out
    assert "AT RISK 444444444444/claims-interactive-ml/" in out
    assert out.rstrip().endswith(
        f"{len(lost)} stateful resource(s) deleted or replaced against {example.outdir}; "
        f"{len(orphaned)} orphaned (retained)"
    )


def test_the_audit_report_names_the_model_and_where_each_layer_is(
    centralized: Synthesized,
) -> None:
    table = operating_model_table({"operating_model": operating_model(centralized.plan)})
    assert "organization.operating_model: centralized" in table.note
    rows = {row[0]: row for row in table.rows}
    assert rows["claims-nonprod"][2:5] == [
        CLAIMS_NONPROD,
        "eu-west-1",
        "security, foundation, data",
    ]
    assert rows["claims-nonprod-central"][2] == CENTRAL_NONPROD
    assert rows["claims-nonprod-central"][5] == "claims-nonprod"


# --- config rules --------------------------------------------------------------------------


def test_centralized_needs_a_central_account_for_each_environment_kind(tmp_path: Path) -> None:
    data = example_data(OperatingModel.CENTRALIZED)
    del data["platform"]["central_accounts"]["prod"]
    assert problems(data, tmp_path) == [
        "platform.central_accounts: the centralized operating model hosts "
        "lobs[claims].environments.prod in the central prod account, which is not set; "
        'allowed: prod: "<12-digit account>" under platform.central_accounts'
    ]


def test_a_central_account_is_nobody_elses(tmp_path: Path) -> None:
    data = example_data(OperatingModel.CENTRALIZED)
    data["platform"]["central_accounts"]["nonprod"] = CLAIMS_NONPROD
    tuning = data["lobs"][0]["ml"]["fine_tuning"][0]
    tuning["recipe_image"] = tuning["recipe_image"].replace("777777777772", CLAIMS_NONPROD)
    agent = data["lobs"][0]["genai"]["agents"][0]
    agent["image"] = agent["image"].replace("777777777772", CLAIMS_NONPROD)
    assert problems(data, tmp_path) == [
        "platform.central_accounts.nonprod: account 555555555555 is already used by "
        "lobs[claims].environments.nonprod.account; allowed: one account per LOB environment, "
        "per platform role and per central GenAI account"
    ]


def test_an_unknown_operating_model_is_refused_with_the_allowed_ones(tmp_path: Path) -> None:
    data = example_data(OperatingModel.FEDERATED)
    data["organization"]["operating_model"] = "hybrid"
    [problem] = problems(data, tmp_path)
    assert problem.startswith("organization.operating_model: ")
    assert "'federated', 'centralized' or 'decentralized'" in problem


@pytest.mark.parametrize("field", ["catalog", "guardrails"])
def test_an_lobs_own_catalog_or_guardrail_needs_the_decentralized_model(
    field: str, tmp_path: Path
) -> None:
    data = decentralized_data()
    data["organization"]["operating_model"] = "federated"
    del data["lobs"][0]["genai"]["guardrails" if field == "catalog" else "catalog"]
    what = {"catalog": "model catalog", "guardrails": "guardrail policy"}[field]
    assert problems(data, tmp_path) == [
        f"lobs[claims].genai.{field}: an LOB sets its own {what} only under the decentralized "
        "operating model (organization.operating_model is federated); allowed: remove it, or "
        "set organization.operating_model: decentralized"
    ]


def test_an_lobs_catalog_picks_from_the_organizations_and_covers_its_use(tmp_path: Path) -> None:
    data = decentralized_data()
    data["lobs"][0]["genai"]["catalog"] = ["amazon.titan-embed-text-v2:0", "vendor.other-v1:0"]
    found = problems(data, tmp_path)
    assert (
        "lobs[claims].genai.catalog[1]: model 'vendor.other-v1:0' is not in the organization's "
        "catalog; allowed: amazon.nova-pro-v1:0, amazon.nova-lite-v1:0, "
        "amazon.titan-embed-text-v2:0"
    ) in found
    assert (
        "lobs[claims].genai.use_cases[0].model: model 'amazon.nova-pro-v1:0' is not in the "
        "LOB's catalog (lobs[claims].genai.catalog); allowed: amazon.titan-embed-text-v2:0, "
        "vendor.other-v1:0"
    ) in found


def test_an_lobs_guardrail_is_never_looser_than_the_organizations(tmp_path: Path) -> None:
    data = decentralized_data()
    data["lobs"][0]["genai"]["guardrails"] = {
        "content_filters": {"hate": "medium"},
        "pii": {"US_SOCIAL_SECURITY_NUMBER": "anonymize"},
        "grounding_threshold": 0.5,
    }
    assert sorted(problems(data, tmp_path)) == [
        "lobs[claims].genai.guardrails.content_filters.hate: 'medium' is weaker than the "
        "organization's 'high'; allowed: high",
        "lobs[claims].genai.guardrails.grounding_threshold: 0.5 is below the organization's "
        "0.75; allowed: 0.75 to 0.99",
        "lobs[claims].genai.guardrails.pii.US_SOCIAL_SECURITY_NUMBER: the organization blocks "
        "US_SOCIAL_SECURITY_NUMBER; allowed: block",
    ]


def test_a_looser_guardrail_written_in_quotes_or_with_spaces_is_refused(tmp_path: Path) -> None:
    """Validation reads "0.1" as 0.1 and strips a key: so does the never-looser check."""
    data = decentralized_data()
    data["lobs"][0]["genai"]["guardrails"] = {
        "pii": {"US_SOCIAL_SECURITY_NUMBER ": "anonymize"},
        "grounding_threshold": "0.1",
    }
    assert sorted(problems(data, tmp_path)) == [
        "lobs[claims].genai.guardrails.grounding_threshold: 0.1 is below the organization's "
        "0.75; allowed: 0.75 to 0.99",
        "lobs[claims].genai.guardrails.pii.US_SOCIAL_SECURITY_NUMBER: the organization blocks "
        "US_SOCIAL_SECURITY_NUMBER; allowed: block",
    ]


# --- the federated model's hub ----------------------------------------------------------


def hub_data() -> Json:
    """The example's data (whose hub serves claims and research)."""
    return example_data(OperatingModel.FEDERATED)


def test_the_hub_holds_the_shared_guardrail_prompts_and_knowledge_bases(
    example: Synthesized,
) -> None:
    hub = example.plan.hub
    assert hub is not None and (hub.account, hub.layers) == (
        HUB_ACCOUNT,
        (Layer.SECURITY, Layer.FOUNDATION, Layer.DATA, Layer.GENAI),
    )
    genai = example.template("platform-hub-genai")
    assert len(genai.find_resources("AWS::Bedrock::Guardrail")) == 1
    prompts = genai.find_resources("AWS::Bedrock::Prompt")
    assert sorted(p["Properties"]["Name"] for p in prompts.values()) == [
        "platform-hub-claims-summarize-claim",
        "platform-hub-house-style",
    ]
    sources = genai.find_resources("AWS::Bedrock::DataSource")
    [source] = sources.values()
    s3 = source["Properties"]["DataSourceConfiguration"]["S3Configuration"]
    assert s3["InclusionPrefixes"] == ["promoted/claims/policies/"]
    assert "platform-hub-ml" not in example.stack_names()
    assert HUB_ACCOUNT in placed(example)["knowledge base"]


def test_the_catalog_follows_the_hubs_paths(example: Synthesized) -> None:
    outcomes = catalog_outcomes(example)
    assert [o.query.entry.id for o in outcomes if not o.matches] == []
    assert {o.query.entry.id for o in outcomes} == applicable(example.plan)
    decided = {
        (o.query.entry.id, o.query.placement, o.query.target.label, o.decision.decision)
        for o in outcomes
    }
    # Promotion: claims' prod documents are read by the hub, nothing else of claims.
    assert (
        "hub-reads-the-promoted-documents",
        "claims-prod",
        "kb-documents/policies",
        "allow",
    ) in decided
    assert ("hub-reads-nothing-else-of-the-lob", "claims-prod", "object/curated", "deny") in decided
    # Consumption: each consuming LOB's applications, and only they, reach its hub role.
    for lob in ("claims", "research"):
        assert (
            "app-becomes-its-lobs-hub-role",
            f"{lob}-prod",
            f"app-role/{lob}",
            "allow",
        ) in decided
        assert (
            "hub-role-retrieves-the-shared-knowledge",
            f"{lob}-nonprod",
            "knowledge-base/claims-policies",
            "allow",
        ) in decided
    assert (
        "another-lobs-application-cannot-use-this-lobs-hub-role",
        "claims-nonprod",
        "app-role/claims",
        "deny",
    ) in decided
    assert not any(
        o.query.placement.startswith("marketing")
        and "hub" in o.query.entry.id
        and o.decision.decision == "allow"
        for o in outcomes
    )


def test_the_hub_belongs_to_the_federated_model(tmp_path: Path) -> None:
    data = hub_data()
    data["organization"]["operating_model"] = "centralized"
    assert (
        "platform.hub: the hub is the federated model's account for shared assets "
        "(organization.operating_model is centralized); allowed: remove platform.hub, or set "
        "organization.operating_model: federated"
    ) in problems(data, tmp_path)


def test_what_the_hub_promotes_and_serves_exists_and_respects_classification(
    tmp_path: Path,
) -> None:
    data = hub_data()
    hub = data["platform"]["hub"]
    hub["data_classification"] = "internal"
    hub["promoted_prompts"] = [{"lob": "claims", "name": "no-such-prompt"}]
    hub["promoted_knowledge_bases"].append({"lob": "nobody", "name": "policies"})
    hub["consumers"][1]["knowledge_bases"] = ["unknown"]
    hub["consumers"].append({"lob": "marketing", "model": "amazon.nova-pro-v1:0"})
    hub["account"] = "444444444444"
    assert sorted(problems(data, tmp_path)) == [
        "lobs[claims].environments.interactive.account: account 444444444444 is already used "
        "by platform.hub.account; allowed: one account per LOB environment, per platform role "
        "and per central GenAI account",
        "platform.hub.agents[0].image: the image is in 888888888888/eu-west-1/hub-agents/"
        "policy-guide; allowed: the hub's agents' repository, in the home region, 444444444444."
        "dkr.ecr.eu-west-1.amazonaws.com/hub-agents/policy-guide@sha256:..., where every "
        "environment's agent pulls it",
        "platform.hub.consumers[1].knowledge_bases[0]: the hub has no knowledge base "
        "'unknown'; allowed: claims-policies, nobody-policies",
        "platform.hub.promoted_knowledge_bases[0].lob: LOB 'claims' holds confidential data "
        "and the hub internal data; allowed: promote from LOBs at or below the hub's "
        "classification, or raise platform.hub.data_classification",
        "platform.hub.promoted_knowledge_bases[1].lob: no LOB is named 'nobody'; allowed: "
        "claims, marketing, research",
        "platform.hub.promoted_prompts[0].lob: LOB 'claims' holds confidential data and the "
        "hub internal data; allowed: promote from LOBs at or below the hub's classification, "
        "or raise platform.hub.data_classification",
        "platform.hub.promoted_prompts[0].name: LOB 'claims' has no prompt 'no-such-prompt'; "
        "allowed: summarize-claim",
    ]


def test_a_hub_consumer_is_cleared_for_the_hubs_data_and_uses_an_approved_model(
    tmp_path: Path,
) -> None:
    data = hub_data()
    data["platform"]["hub"]["consumers"].append(
        {"lob": "marketing", "model": "amazon.titan-embed-text-v2:0"}
    )
    assert sorted(problems(data, tmp_path)) == [
        "platform.hub.consumers[2].lob: LOB 'marketing' is cleared for internal data and the "
        "hub holds confidential data; allowed: LOBs at or above the hub's classification",
        "platform.hub.consumers[2].model: 'amazon.titan-embed-text-v2:0' is not a text model "
        "of the catalog approved for the hub's data; allowed: amazon.nova-pro-v1:0, "
        "amazon.nova-lite-v1:0",
    ]


def test_the_hubs_own_assets_use_models_of_the_catalog(tmp_path: Path) -> None:
    data = hub_data()
    hub = data["platform"]["hub"]
    hub["prompts"][0]["model"] = "vendor.other-v1:0"
    hub["knowledge_bases"] = [{"name": "handbook", "embedding_model": "amazon.nova-pro-v1:0"}]
    assert sorted(problems(data, tmp_path)) == [
        "platform.hub.knowledge_bases[0].embedding_model: 'amazon.nova-pro-v1:0' is not an "
        "embedding model of the catalog; allowed: amazon.titan-embed-text-v2:0",
        "platform.hub.prompts[0].model: 'vendor.other-v1:0' is not a text model of the catalog "
        "approved for the hub's data; allowed: amazon.nova-pro-v1:0, amazon.nova-lite-v1:0",
    ]


# --- paths under the centralized model -----------------------------------------------------

RAG_HOPS = {
    "claims-nonprod-central": [
        "ingestion-hands-documents-to-its-tenancy",
        "ingestion-writes-knowledge-base-documents",
        "ingestion-starts-its-knowledge-base-sync",
        "knowledge-base-reads-its-documents",
        "app-becomes-its-tenancy-role",
        "app-calls-its-answer-api",
        "answer-api-retrieves-from-its-knowledge-bases",
        "answer-api-generates-with-the-guardrail",
    ],
}
MODEL_HOPS = {
    "claims-nonprod-central": [
        "ml-engineer-enters-its-tenancy",
        "pipeline-records-its-evaluation",
        "ml-engineer-approves-a-model-package",
        "prod-release-reads-the-registry",
        "prod-release-reads-merged-models",
        "prod-release-decrypts-merged-models-through-s3",
    ],
    "claims-prod-central": [
        "release-writes-its-releases",
        "release-stages-prod-packages",
        "ml-engineer-approves-prod-releases",
        "release-updates-its-endpoints",
        "endpoints-load-their-releases",
    ],
}


@pytest.mark.parametrize(
    "hops", [RAG_HOPS, MODEL_HOPS], ids=["documents-to-answers", "model-to-prod"]
)
def test_every_hop_of_a_path_is_allowed_between_the_lob_account_and_its_tenancies(
    hops: dict[str, list[str]], centralized: Synthesized
) -> None:
    wanted = {entry_id for ids in hops.values() for entry_id in ids}
    entries = [entry for entry in load_catalog() if entry.id in wanted]
    assert {entry.id for entry in entries} == wanted
    world = build_world(read_assembly(centralized.outdir))
    expected = {(placement, entry_id) for placement, ids in hops.items() for entry_id in ids}
    decided = {
        (o.query.placement, o.query.entry.id, o.decision.decision)
        for o in run_catalog(world, centralized.plan, entries)
        if (o.query.placement, o.query.entry.id) in expected
    }
    assert decided == {(placement, entry_id, "allow") for placement, entry_id in expected}


def test_the_registry_of_the_nonprod_tenancy_admits_the_prod_tenancys_release_role(
    centralized: Synthesized,
) -> None:
    groups = centralized.template("claims-nonprod-central-ml").find_resources(
        "AWS::SageMaker::ModelPackageGroup"
    )
    [group] = groups.values()
    [statement] = group["Properties"]["ModelPackageGroupPolicy"]["Statement"]
    release = "arn:aws:iam::777777777773:role/example-corp-claims-model-release"
    assert statement["Condition"] == {"ArnEquals": {"aws:PrincipalArn": [release]}}


# --- names a central account's tenancies share ------------------------------------------------


def test_tenancy_names_stay_within_the_services_limits(tmp_path: Path) -> None:
    data = example_data(OperatingModel.CENTRALIZED)
    data["organization"]["name"] = "acme-financial-group"
    data["lobs"][2]["name"] = "wealth-management-emea"
    data["lobs"][2]["genai"]["use_cases"][0]["name"] = "literature-review-assist"
    found = problems(data, tmp_path)
    assert (
        "lobs[wealth-management-emea].name: the tenancy role 'acme-financial-group-wealth-"
        "management-emea-rag-release-gate' is 60 characters; allowed: at most 64 (shorten the "
        "organization, LOB or use case name)"
    ) not in found
    assert (
        "lobs[wealth-management-emea].name: the tenancy role 'acme-financial-group-wealth-"
        "management-emea-app-literature-review-assist' is 72 characters; allowed: at most 64 "
        "(shorten the organization, LOB or use case name)"
    ) in found
    assert (
        "lobs[wealth-management-emea].name: the tenancy guardrail 'acme-financial-group-wealth-"
        "management-emea-prod-central' is 56 characters; allowed: at most 50 (shorten the "
        "organization or LOB name)"
    ) in found
    assert (
        "lobs[wealth-management-emea].genai.use_cases[0].name: the tenancy's inference profile "
        "'wealth-management-emea-interactive-central-literature-review-assist' is 67 "
        "characters; allowed: at most 64"
    ) in found


def test_tenancies_of_one_account_share_no_pipeline_or_endpoint_name(tmp_path: Path) -> None:
    data = example_data(OperatingModel.CENTRALIZED)
    data["lobs"][2]["ml"]["endpoints"] = [
        {"name": "claims-summarizer", "model": "mistral-7b-instruct", "min_instances": 0}
    ]
    assert problems(data, tmp_path) == [
        f"lobs[research].ml.endpoints[0].name: the endpoint name 'claims-summarizer' is also "
        f"lobs[claims]'s, and both LOBs' {environment} tenancies share a central account and "
        "region eu-west-1; allowed: names unique across the LOBs"
        for environment in ("nonprod", "prod")
    ]


def test_central_is_not_an_lob_name_under_the_centralized_model(tmp_path: Path) -> None:
    data = example_data(OperatingModel.CENTRALIZED)
    data["lobs"][1]["name"] = "central"
    del data["organization"]["identity"]  # its assignments name the LOBs too
    assert problems(data, tmp_path) == [
        "lobs[central].name: names starting with 'central' are the central team's placements of "
        "the central accounts; allowed: another name"
    ]


def test_an_lobs_denied_topics_join_the_organizations_within_bedrocks_limit(
    tmp_path: Path,
) -> None:
    data = decentralized_data()
    topic = {"name": "investment-advice", "definition": "Again."}
    data["lobs"][0]["genai"]["guardrails"]["denied_topics"] = [
        topic,
        *({"name": f"topic-{n}", "definition": "More."} for n in range(29)),
    ]
    assert problems(data, tmp_path) == [
        "lobs[claims].genai.guardrails.denied_topics: 1 topics of the organization and 30 of the "
        "LOB make 31; allowed: at most 30 in all (Bedrock's limit)",
        "lobs[claims].genai.guardrails.denied_topics[0].name: the organization already denies "
        "the topic 'investment-advice'; allowed: a topic of another name",
    ]


def test_a_promoted_asset_keeps_its_name_model_and_prod_in_the_hub(tmp_path: Path) -> None:
    data = hub_data()
    hub = data["platform"]["hub"]
    hub["prompts"][0]["name"] = "claims-summarize-claim"
    hub["data_classification"] = "restricted"
    hub["agents"][0]["model"] = "amazon.nova-lite-v1:0"
    hub["consumers"] = [{"lob": "research", "model": "amazon.nova-lite-v1:0"}]
    data["lobs"][0]["genai"]["knowledge_bases"][0]["environments"] = ["interactive", "nonprod"]
    data["lobs"][0]["genai"]["use_cases"][0]["knowledge_bases"] = ["policies"]
    assert sorted(problems(data, tmp_path)) == [
        "platform.hub.promoted_knowledge_bases[0].name: the knowledge base 'policies' of "
        "'claims' is not in its prod environment (interactive, nonprod), where the hub reads "
        "promoted documents; allowed: a knowledge base of prod",
        "platform.hub.promoted_prompts[0].name: 'amazon.nova-pro-v1:0' is not a text model of "
        "the catalog approved for the hub's data; allowed: amazon.nova-lite-v1:0",
        "platform.hub.promoted_prompts[0].name: the hub already has a prompt named "
        "'claims-summarize-claim', the promoted one's name there; allowed: rename the hub's own",
        "platform.hub.prompts[0].model: 'amazon.nova-pro-v1:0' is not a text model of the "
        "catalog approved for the hub's data; allowed: amazon.nova-lite-v1:0",
    ]


def test_what_a_central_account_keeps_once_per_region_is_the_central_placements(
    centralized: Synthesized,
) -> None:
    stacks = read_assembly(centralized.outdir).stacks
    in_central = [s for s in stacks if s.account == CENTRAL_NONPROD and s.region == "eu-west-1"]
    owners = {
        resource_type: sorted(
            s.name
            for s in in_central
            if any(r["Type"] == resource_type for r in s.resources.values())
        )
        for resource_type in (
            "AWS::Glue::DataCatalogEncryptionSettings",
            "Custom::BedrockModelInvocationLogging",
            "AWS::Bedrock::EnforcedGuardrailConfiguration",
            "AWS::Oam::Link",
        )
    }
    central = "central-nonprod-eu-west-1"
    assert owners["AWS::Glue::DataCatalogEncryptionSettings"] == [f"{central}-data"]
    assert owners["Custom::BedrockModelInvocationLogging"] == [f"{central}-genai"]
    assert owners["AWS::Bedrock::EnforcedGuardrailConfiguration"] == [f"{central}-genai"]
    assert owners["AWS::Oam::Link"] == [f"{central}-foundation"]


def test_a_tenancys_pipeline_tags_its_jobs_with_the_lob(centralized: Synthesized) -> None:
    [pipeline] = [
        p
        for p in centralized.template("claims-nonprod-central-ml")
        .find_resources("AWS::SageMaker::Pipeline")
        .values()
        if not p["Properties"]["PipelineName"].startswith("import-")
    ]
    body = pipeline["Properties"]["PipelineDefinition"]["PipelineDefinitionBody"]
    steps = {s["Name"]: s for s in json.loads(joined(body))["Steps"]}
    for name in ("PrepareData", "FineTune"):
        assert {"Key": "lob", "Value": "claims"} in steps[name]["Arguments"]["Tags"]


def test_the_delivery_pipeline_gates_each_tenancy_through_its_own_role(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    directory = tmp_path_factory.mktemp("pipeline")
    config = load(example_data(OperatingModel.CENTRALIZED), directory)
    app = App(outdir=str(directory / "cdk.out"), **app_props(feature_flags()))
    build_delivery(app, config, Settings(org_file=directory / "org.yaml"))
    template = json.dumps(synthesize(app).get_stack_by_name("platform-pipeline").template)
    gates = set(re.findall(r"arn:aws:iam::\d+:role/[a-z-]*rag-release-gate", template))
    assert gates == {
        f"arn:aws:iam::{CENTRAL_NONPROD}:role/example-corp-claims-rag-release-gate",
        f"arn:aws:iam::{CENTRAL_NONPROD}:role/example-corp-research-rag-release-gate",
    }
    assumable = set(re.findall(r"arn:aws:iam::\*:role/[a-z-]*rag-release-gate", template))
    assert assumable == {
        f"arn:aws:iam::*:role/example-corp-{lob}-rag-release-gate"
        for lob in ("claims", "marketing", "research")
    }


def test_no_platform_role_of_a_central_account_reads_the_prompts_of_another_region(
    centralized: Synthesized,
) -> None:
    questions = Questions(read_assembly(centralized.outdir), centralized.plan.config.organization)
    logs = f"arn:aws:logs:eu-west-1:{CENTRAL_NONPROD}:log-group:"
    west = f"{logs}/genai-platform/central-nonprod-eu-west-1/model-invocations:log-stream:x"
    for role in (
        "example-corp-central-eu-central-1-platform-admin",
        "example-corp-central-eu-central-1-auditor",
        "example-corp-marketing-platform-admin",
    ):
        decision = questions.ask(f"{CENTRAL_NONPROD}:{role}", "logs:GetLogEvents", west)
        assert decision.decision == "deny", (role, decision.reasons)
    own = questions.ask(
        f"{CENTRAL_NONPROD}:example-corp-central-eu-west-1-platform-admin",
        "logs:GetLogEvents",
        west,
    )
    assert own.decision == "deny"


def test_an_lob_account_reaches_its_tenancy_through_endpoints_of_its_own_vpc(
    centralized: Synthesized,
) -> None:
    plan = centralized.plan
    # Claims' applications also invoke its agent in the tenancy (AgentCore's data plane).
    assert interface_endpoints(plan, plan.placement("claims-nonprod")) == (
        "BedrockRuntime",
        "BedrockAgentRuntime",
        "SageMakerRuntime",
        "Sts",
        "BedrockAgentCore",
    )
    assert interface_endpoints(plan, plan.placement("research-interactive")) == (
        "BedrockRuntime",
        "Sts",
    )
    tenancy = plan.placement("claims-nonprod")
    assert tenancy.region == plan.placement(tenancy.tenancy or "").region
    # What the plan says is what the LOB account's VPC gets.
    services = sorted(
        endpoint["Properties"]["ServiceName"]
        for endpoint in centralized.template_json("claims-nonprod-foundation")["Resources"].values()
        if endpoint["Type"] == "AWS::EC2::VPCEndpoint"
        and endpoint["Properties"].get("VpcEndpointType") == "Interface"
    )
    assert services == [
        f"com.amazonaws.{tenancy.region}.{service}"
        for service in (
            "bedrock-agent-runtime",
            "bedrock-agentcore",
            "bedrock-runtime",
            "sagemaker.runtime",
            "sts",
        )
    ]


@pytest.mark.parametrize("model", ["centralized", "decentralized"])
def test_the_evaluator_agrees_with_the_simulator_under_the_model(
    model: str, request: pytest.FixtureRequest
) -> None:
    synthesized: Synthesized = request.getfixturevalue(model)
    organization = synthesized.plan.config.organization
    world = build_world(read_assembly(synthesized.outdir))
    evaluator = Evaluator(world, organization_id=organization.id, root_id=organization.root_id)
    compared, left_out = compare(evaluator, catalog_queries(world, synthesized.plan))
    assert unexplained(model, compared, left_out) == []
    assert compared and left_out == 0
