"""Every rule of the organization file, each with its exact message."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from blueprint.model import loader
from blueprint.model.endpoints import interface_endpoints
from blueprint.model.errors import ConfigError
from blueprint.model.fields import EnvironmentName
from blueprint.model.inputs.data import data_inputs
from blueprint.model.loader import load_config
from blueprint.model.names import gpu_endpoint_name
from blueprint.model.placing import plan_for
from blueprint.model.sections.genai import (
    FixedSizeChunking,
    HierarchicalChunking,
    KnowledgeBaseConfig,
    SemanticChunking,
    UseCase,
)
from blueprint.model.sections.values import SLUG, SLUG_MAX_LENGTH, DataClassification
from genai_constructs.endpoint_reference import is_endpoint_name
from genai_constructs.naming import collection_part_name, short_name
from tests.conftest import EXAMPLE, REPO


def example_data() -> dict:
    return yaml.safe_load(EXAMPLE.read_text())


def yaml_path(path: tuple[str | int, ...]) -> str:
    """How problems name ``path`` of the example: its LOBs by name."""
    lobs = [lob["name"] for lob in example_data()["lobs"]]
    parts = [
        f"[{lobs[part]}]"
        if index == 1 and path[0] == "lobs" and isinstance(part, int)
        else f"[{part}]"
        if isinstance(part, int)
        else f".{part}"
        for index, part in enumerate(path)
    ]
    return "".join(parts).lstrip(".")


def edited(path: tuple[str | int, ...], value: object) -> dict:
    """The example's data with the value at ``path`` replaced."""
    data = example_data()
    node = data
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return data


def problems(data: dict, tmp_path: Path) -> list[str]:
    """Write ``data`` as an organization file and return the problem lines, file name removed."""
    path = tmp_path / "org.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    return [line.split(": ", 1)[1] for line in raised.value.lines()]


def test_the_example_is_valid(example_config) -> None:
    assert example_config.organization.name == "example-corp"
    assert [lob.name for lob in example_config.lobs] == ["claims", "marketing", "research"]
    for lob in example_config.lobs:
        assert [name for name, _ in lob.environments.items()] == list(EnvironmentName)
    assert {lob.data_classification for lob in example_config.lobs} >= {
        DataClassification.CONFIDENTIAL,
        DataClassification.RESTRICTED,
    }


def test_account_ids_have_twelve_digits(tmp_path: Path) -> None:
    data = example_data()
    data["lobs"][1]["environments"]["prod"]["account"] = "66666666667"
    assert problems(data, tmp_path) == [
        "lobs[marketing].environments.prod.account: '66666666667' is not an AWS account id; "
        "allowed: exactly 12 digits, quoted"
    ]


def test_unquoted_account_ids_are_refused(tmp_path: Path) -> None:
    data = example_data()
    data["platform"]["tooling_account"] = 333333333333
    assert problems(data, tmp_path) == [
        "platform.tooling_account: 333333333333 must be quoted text; allowed: a quoted value"
    ]


def test_lob_names_are_lower_case_slugs(tmp_path: Path) -> None:
    data = example_data()
    del data["organization"]["identity"]  # its assignments name the LOBs too
    del data["platform"]["hub"]  # and the hub's consumers and promotions
    data["lobs"][0]["name"] = "Claims_Dept"
    assert problems(data, tmp_path) == [
        "lobs[0].name: 'Claims_Dept' is not a valid name; allowed: 3-24 characters, lower-case "
        "letters, digits and '-', starting with a letter"
    ]


def test_lob_names_are_unique(tmp_path: Path) -> None:
    data = example_data()
    del data["organization"]["identity"]  # its assignments name the LOBs too
    del data["platform"]["hub"]  # and the hub's consumers and promotions
    data["lobs"][2]["name"] = "claims"
    assert problems(data, tmp_path) == [
        "lobs[2].name: LOB name 'claims' is already used by lobs[0]; allowed: a unique name per LOB"
    ]


def test_environments_are_interactive_nonprod_prod(tmp_path: Path) -> None:
    data = example_data()
    data["lobs"][1]["environments"]["staging"] = data["lobs"][1]["environments"].pop("nonprod")
    assert problems(data, tmp_path) == [
        "lobs[marketing].environments.staging: unknown key 'staging'; "
        "allowed: interactive, nonprod, prod"
    ]


def test_regions_must_be_allowed(tmp_path: Path) -> None:
    data = example_data()
    data["lobs"][1]["environments"]["nonprod"] |= {
        "region": "us-east-1",
        "azs": ["us-east-1a", "us-east-1b"],
    }
    assert problems(data, tmp_path) == [
        "lobs[marketing].environments.nonprod.region: region 'us-east-1' is not in "
        "organization.allowed_regions; allowed: eu-west-1, eu-central-1, eu-west-3, eu-north-1"
    ]


def test_home_region_must_be_allowed(tmp_path: Path) -> None:
    data = example_data()
    data["organization"]["home_region"] = "eu-south-2"
    # The zones of a region that is not allowed are not checked against it; the hub, in the
    # home region, would pull its agent's image from another region.
    assert problems(data, tmp_path) == [
        "organization.home_region: region 'eu-south-2' is not in organization.allowed_regions; "
        "allowed: eu-west-1, eu-central-1, eu-west-3, eu-north-1",
        "platform.hub.agents[0].image: the image is in 888888888888/eu-west-1/hub-agents/"
        "policy-guide; allowed: the hub's agents' repository, in the home region, 888888888888."
        "dkr.ecr.eu-south-2.amazonaws.com/hub-agents/policy-guide@sha256:..., where every "
        "environment's agent pulls it",
    ]


def test_availability_zones_belong_to_their_region(tmp_path: Path) -> None:
    data = example_data()
    data["lobs"][0]["environments"]["prod"]["azs"] = ["eu-west-1a", "eu-central-1b"]
    assert problems(data, tmp_path) == [
        "lobs[claims].environments.prod.azs[1]: availability zone 'eu-central-1b' is not in region "
        "'eu-west-1'; allowed: eu-west-1a, eu-west-1b, ..."
    ]


def test_platform_zones_belong_to_the_home_region(tmp_path: Path) -> None:
    data = example_data()
    data["platform"]["azs"] = ["eu-west-1a", "eu-west-2b"]
    assert problems(data, tmp_path) == [
        "platform.azs[1]: availability zone 'eu-west-2b' is not in region 'eu-west-1'; "
        "allowed: eu-west-1a, eu-west-1b, ..."
    ]


def test_an_account_is_not_shared_between_lobs(tmp_path: Path) -> None:
    data = example_data()
    data["lobs"][1]["environments"]["prod"]["account"] = "666666666666"
    assert problems(data, tmp_path) == [
        "lobs[marketing].environments.prod.account: account 666666666666 is already used by "
        "lobs[claims].environments.prod.account; allowed: one account per LOB environment, per "
        "platform role and per central GenAI account"
    ]


def test_an_account_is_not_shared_with_the_platform(tmp_path: Path) -> None:
    data = example_data()
    data["lobs"][2]["environments"]["interactive"]["account"] = "333333333333"
    assert problems(data, tmp_path) == [
        "lobs[research].environments.interactive.account: account 333333333333 is already used by "
        "platform.tooling_account; allowed: one account per LOB environment, per platform role "
        "and per central GenAI account"
    ]


def test_unknown_keys_are_rejected_with_the_allowed_ones(tmp_path: Path) -> None:
    data = example_data()
    data["lobs"][0]["owner"] = "alice"
    assert problems(data, tmp_path) == [
        "lobs[claims].owner: unknown key 'owner'; allowed: name, cost_center, data_classification, "
        "budget_usd_month, alert_emails, retain_interactive_data, auditor_metadata_read, "
        "environments, data, genai, ml"
    ]


def test_missing_keys_are_named(tmp_path: Path) -> None:
    data = example_data()
    del data["platform"]["governance_account"]
    assert problems(data, tmp_path) == ["platform.governance_account: required key is missing"]


def test_classification_lists_the_allowed_values(tmp_path: Path) -> None:
    data = example_data()
    data["lobs"][0]["data_classification"] = "secret"
    assert problems(data, tmp_path) == [
        "lobs[claims].data_classification: 'secret' is not allowed; "
        "allowed: 'public', 'internal', 'confidential' or 'restricted'"
    ]


def test_keys_given_twice_are_reported_with_their_line(tmp_path: Path) -> None:
    path = tmp_path / "org.yaml"
    path.write_text(
        EXAMPLE.read_text().replace(
            "  home_region: eu-west-1\n", "  home_region: eu-west-1\n  home_region: eu-west-1\n"
        )
    )
    repeated = EXAMPLE.read_text().splitlines().index("  home_region: eu-west-1") + 2
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert raised.value.lines() == [
        f"{path}:{repeated}: organization.home_region: key given twice in the same mapping; "
        "allowed: each key once"
    ]


def test_the_fast_yaml_reader_reads_the_organization_as_the_pure_one_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert loader.FAST_LOADER is yaml.CSafeLoader
    fast = load_config(EXAMPLE)
    monkeypatch.setattr(loader, "FAST_LOADER", yaml.SafeLoader)
    assert load_config(EXAMPLE) == fast


def test_a_problem_found_by_the_fast_reader_is_told_by_the_pure_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "org.yaml"
    path.write_text("organization:\n  name: [unclosed\n")
    read_with: list[object] = []
    original = loader._load_config

    def recorded(file: str, text: str, reader: object) -> object:
        read_with.append(reader)
        return original(file, text, reader)

    monkeypatch.setattr(loader, "_load_config", recorded)
    with pytest.raises(ConfigError):
        load_config(path)
    assert read_with == [yaml.CSafeLoader, yaml.SafeLoader]


@pytest.mark.parametrize(
    ("text", "read"),
    [
        # libyaml reads a byte-order mark inside the text as indentation (b inside a); the
        # pure reader as part of the key.
        ("a:\n\ufeffb: 1\n", {"a": None, "\ufeffb": 1}),
        ("a: 'caf\u00e9'\n", {"a": "caf\u00e9"}),
        # An empty tag: '' to libyaml, None to the pure reader.
        ("k: !\n", {"k": None}),
    ],
)
def test_a_file_libyaml_reads_otherwise_is_read_by_the_pure_reader_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, read: dict
) -> None:
    assert yaml.load(text, Loader=yaml.SafeLoader) == read
    path = tmp_path / "org.yaml"
    path.write_text(text, encoding="utf-8")
    composed_with: list[object] = []
    original = yaml.compose

    def recorded(stream: str, Loader: object) -> object:
        composed_with.append(Loader)
        return original(stream, Loader=Loader)

    monkeypatch.setattr(yaml, "compose", recorded)
    with pytest.raises(ConfigError):
        load_config(path)
    assert composed_with and set(composed_with) == {yaml.SafeLoader}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        # libyaml accepts each of the first three; the pure reader does not.
        ("organization:\t\n  id: x\n", ":1: <root>: invalid YAML: a tab;"),
        ("a: 1\t# note\n", ":1: <root>: invalid YAML: a tab;"),
        ("a: |#\n  x\n", ":1: <root>: invalid YAML: expected chomping or indentation"),
        (
            "a: 2001-13-45\n",
            ": <root>: invalid YAML: a value written as a date, a number or a tagged value is none",
        ),
        (
            "a: 0x_\n",
            ": <root>: invalid YAML: a value written as a date, a number or a tagged value is none",
        ),
        ('a: "\\U00110000"\n', ": <root>: invalid YAML: an escape names no character"),
        ('a: "\\UFFFFFFFF"\n', ": <root>: invalid YAML: an escape names no character"),
        ("k: [x?y]\n", ":1: <root>: invalid YAML: expected ',' or ']', but got '?'"),
        (
            "a: !!bool x\n",
            ": <root>: invalid YAML: a value written as a date, a number or a tagged value is none",
        ),
    ],
)
def test_yaml_libyaml_forgives_or_python_cannot_convert_is_refused(
    tmp_path: Path, text: str, problem: str
) -> None:
    path = tmp_path / "org.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert raised.value.lines()[0].startswith(f"{path}{problem}")


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "org.yaml"
    path.write_bytes(b"organization:\n  name: \xff\xfe\n")
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert raised.value.lines() == [
        f"{path}: <root>: not UTF-8 text (byte 22); allowed: a UTF-8 file"
    ]


def test_yaml_syntax_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "org.yaml"
    path.write_text("organization:\n  name: [unclosed\n")
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert len(raised.value.lines()) == 1
    assert raised.value.lines()[0].startswith(f"{path}:3: <root>: invalid YAML:")


@pytest.mark.parametrize(
    "text",
    [
        "organization: !!python/object/apply:os.system [echo unsafe]\n",
        "organization: !custom {name: example}\n",
    ],
)
def test_yaml_tags_are_refused_without_running_anything(text: str, tmp_path: Path) -> None:
    path = tmp_path / "org.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    [line] = raised.value.lines()
    assert line.startswith(f"{path}:1: <root>: invalid YAML: could not determine a constructor")
    assert line.endswith("; allowed: plain YAML values, without tags")


def test_an_alias_bomb_is_refused_at_once(tmp_path: Path) -> None:
    """Nine levels of ten aliases each: 2.3 billion values once expanded."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    path = tmp_path / "org.yaml"
    path.write_text("\n".join([*lines, "organization: *a8"]) + "\n")
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "blueprint.cli", "validate", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert time.perf_counter() - started < 2
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert (
        f"{path}:1: <root>: the file expands to 2,345,679,021 values through YAML aliases; "
        "allowed: at most 200,000" in result.stderr
    )


FIVE_MISTAKES = {
    ("organization", "management_account"): "12345",
    ("platform", "colour"): "blue",
    ("lobs", 0, "environments", "prod", "region"): "us-west-2",
    ("lobs", 1, "environments", "prod", "account"): "666666666666",
    ("lobs", 2, "budget_usd_month"): -5,
}


def test_validate_prints_every_problem_with_its_path_and_exits_2(tmp_path: Path) -> None:
    data = example_data()
    for (*parents, key), value in FIVE_MISTAKES.items():
        node = data
        for part in parents:
            node = node[part]
        node[key] = value
    data["lobs"][0]["environments"]["prod"]["azs"] = ["us-west-2a", "us-west-2b"]
    path = tmp_path / "five-mistakes.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))

    result = subprocess.run(
        [sys.executable, "-m", "blueprint.cli", "validate", str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert lines[-1] == f"5 problem(s) in {path}; nothing was synthesized."
    paths = sorted(line.split(": ")[1] for line in lines[:-1])
    assert paths == sorted(
        [
            "organization.management_account",
            "platform.colour",
            "lobs[claims].environments.prod.region",
            "lobs[marketing].environments.prod.account",
            "lobs[research].budget_usd_month",
        ]
    )
    assert all(line.startswith(f"{path}:") for line in lines[:-1])


def test_validate_accepts_the_example() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "blueprint.cli", "validate", str(EXAMPLE)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "valid: organization example-corp, 3 LOB(s), 12 account placement(s)" in result.stdout


def test_models_must_be_in_the_catalog(tmp_path: Path) -> None:
    data = example_data()
    data["lobs"][0]["genai"]["use_cases"][0]["model"] = "anthropic.claude-v2"
    assert problems(data, tmp_path) == [
        "lobs[claims].genai.use_cases[0].model: model 'anthropic.claude-v2' is not in "
        "catalog.bedrock; "
        "allowed: amazon.nova-pro-v1:0, amazon.nova-lite-v1:0"
    ]


def test_a_lob_cannot_use_a_model_below_its_classification(tmp_path: Path) -> None:
    data = example_data()
    data["lobs"][2]["genai"]["use_cases"][0]["model"] = "amazon.nova-pro-v1:0"
    assert problems(data, tmp_path) == [
        "lobs[research].genai.use_cases[0].model: model 'amazon.nova-pro-v1:0' is approved "
        "for data up "
        "to 'confidential'; this LOB's data is 'restricted'; allowed: amazon.nova-lite-v1:0"
    ]


def test_knowledge_bases_need_an_embedding_model(tmp_path: Path) -> None:
    data = example_data()
    data["lobs"][0]["genai"]["knowledge_bases"][0]["embedding_model"] = "amazon.nova-pro-v1:0"
    assert problems(data, tmp_path) == [
        "lobs[claims].genai.knowledge_bases[0].embedding_model: model 'amazon.nova-pro-v1:0' "
        "is a text "
        "model; allowed: amazon.titan-embed-text-v2:0"
    ]


def test_profile_regions_must_be_allowed(tmp_path: Path) -> None:
    data = example_data()
    data["catalog"]["bedrock"][1]["inference_profile"]["regions"].append("eu-south-1")
    assert problems(data, tmp_path) == [
        "catalog.bedrock[1].inference_profile.regions[4]: the profile may route requests to "
        "'eu-south-1', outside organization.allowed_regions; allowed: eu-west-1, eu-central-1, "
        "eu-west-3, eu-north-1 (choose a profile whose regions all are allowed, or none)"
    ]


def test_catalog_models_are_listed_once(tmp_path: Path) -> None:
    data = example_data()
    data["catalog"]["bedrock"].append(dict(data["catalog"]["bedrock"][0]))
    assert problems(data, tmp_path) == [
        "catalog.bedrock[3].id: model 'amazon.nova-pro-v1:0' is listed twice; "
        "allowed: each model once"
    ]


def test_names_within_a_genai_section_are_unique(tmp_path: Path) -> None:
    data = example_data()
    data["lobs"][1]["genai"]["use_cases"].append(dict(data["lobs"][1]["genai"]["use_cases"][0]))
    assert problems(data, tmp_path) == [
        "lobs[marketing].genai.use_cases[1].name: 'campaign-copy' is already used by use_cases[0]; "
        "allowed: a unique name"
    ]


def test_knowledge_base_environments_must_exist(tmp_path: Path) -> None:
    data = example_data()
    del data["organization"]["identity"]  # its assignments name the LOBs too
    del data["lobs"][2]["environments"]["nonprod"]
    assert problems(data, tmp_path) == [
        "lobs[research].genai.knowledge_bases[0].environments[0]: this LOB has no 'nonprod' "
        "environment; allowed: interactive, prod"
    ]


def test_unknown_pii_entities_are_refused(tmp_path: Path) -> None:
    data = example_data()
    data["guardrails"]["pii"]["SHOE_SIZE"] = "block"
    assert problems(data, tmp_path) == [
        "guardrails.pii: unknown PII entity type(s) ['SHOE_SIZE']; allowed: Bedrock guardrail "
        "PII types such as EMAIL, PHONE, NAME, US_SOCIAL_SECURITY_NUMBER"
    ]


def test_content_filter_strengths_are_named(tmp_path: Path) -> None:
    data = example_data()
    data["guardrails"]["content_filters"]["hate"] = "extreme"
    assert problems(data, tmp_path) == [
        "guardrails.content_filters.hate: 'extreme' is not allowed; "
        "allowed: 'none', 'low', 'medium' or 'high'"
    ]


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("organization", "id"), "o-1"),
        (("organization", "root_id"), "root"),
        (("platform", "alert_emails"), []),
        (("platform", "alert_emails"), ["finops"]),
        (("platform", "alert_emails"), [f"a{i}@example.com" for i in range(11)]),
        (("platform", "trail_retention_days"), 0),
        (("lobs", 0, "alert_emails"), []),
        (("lobs", 0, "alert_emails"), ["oncall"]),
        (("platform", "metrics_sinks", "eu-west-1"), "arn:aws:oam:eu-west-1:222222222222:sink/x"),
        (("lobs", 0, "budget_usd_month"), 0),
    ],
)
def test_values_the_stacks_rely_on_are_checked_here(
    path: tuple[str | int, ...], value: object, tmp_path: Path
) -> None:
    """Stacks take these as typed inputs and do not check them again."""
    [problem] = problems(edited(path, value), tmp_path)
    where = yaml_path(path)
    assert problem.startswith(where)
    assert "(got " in problem or " is not " in problem  # the value given, quoted


SINK = "arn:aws:oam:{region}:{account}:sink/5f0c6d1e-2a3b-4c5d-8e9f-0a1b2c3d4e5f"


def test_a_metrics_sink_is_the_governance_accounts_in_its_region(tmp_path: Path) -> None:
    data = example_data()
    data["platform"]["metrics_sinks"] = {
        "eu-west-1": SINK.format(region="eu-central-1", account="222222222222"),
        "eu-central-1": SINK.format(region="eu-central-1", account="999999999999"),
    }
    assert problems(data, tmp_path) == [
        "platform.metrics_sinks.eu-west-1: the sink is in eu-central-1; allowed: a sink in "
        "eu-west-1 (links are regional)",
        "platform.metrics_sinks.eu-central-1: the sink belongs to account 999999999999; allowed: "
        "the governance account 222222222222",
    ]


def test_metrics_sinks_cover_every_lob_region(tmp_path: Path) -> None:
    data = example_data()
    del data["platform"]["metrics_sinks"]["eu-central-1"]
    assert problems(data, tmp_path) == [
        "platform.metrics_sinks: no sink for eu-central-1, where LOB environments run; allowed: "
        "one sink per region with LOB environments (each governance sink stack outputs its ARN)"
    ]


def test_metrics_sinks_may_be_left_out_until_the_first_deploy(tmp_path: Path) -> None:
    data = example_data()
    del data["platform"]["metrics_sinks"]
    path = tmp_path / "org.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    assert load_config(path).platform.metrics_sinks == {}


def test_alert_addresses_are_listed_once(tmp_path: Path) -> None:
    data = example_data()
    data["lobs"][0]["alert_emails"] = ["a@example.com", "a@example.com"]
    assert problems(data, tmp_path) == [
        "lobs[claims].alert_emails: duplicate entries ['a@example.com']; allowed: each value once"
    ]


def test_use_cases_name_their_own_knowledge_bases_and_endpoints(tmp_path: Path) -> None:
    data = example_data()
    use_case = data["lobs"][0]["genai"]["use_cases"][0]
    use_case["knowledge_bases"] = ["studies"]
    use_case["endpoints"] = ["nowhere"]
    assert problems(data, tmp_path) == [
        "lobs[claims].genai.use_cases[0].knowledge_bases[0]: 'studies' is not in this LOB's "
        "genai.knowledge_bases; allowed: policies",
        "lobs[claims].genai.use_cases[0].endpoints[0]: 'nowhere' is not in this LOB's "
        "ml.endpoints; "
        "allowed: claims-summarizer",
    ]


def test_a_use_case_in_prod_carries_its_record(tmp_path: Path) -> None:
    data = example_data()
    del data["lobs"][0]["genai"]["use_cases"][0]["record"]
    assert problems(data, tmp_path) == [
        "lobs[claims].genai.use_cases[0].record: use case 'claims-assistant' runs in prod "
        "without its record; allowed: a record of owner, escalation_contact, risk_tier "
        "(minimal, limited, high), intended_use and human_review"
    ]
    # Outside prod a record is optional.
    data = example_data()
    marketing = data["lobs"][1]
    del marketing["genai"]["use_cases"][0]["record"]
    del marketing["environments"]["prod"]
    path = tmp_path / "no-prod.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    assert load_config(path).lobs[1].genai.use_cases[0].record is None


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        (
            "human_review",
            False,
            "record: risk_tier high needs human_review: true (a high-risk system is overseen by "
            "a person); allowed: human_review: true, or a lower risk_tier",
        ),
        (
            "risk_tier",
            "unacceptable",
            "record.risk_tier: 'unacceptable' is not allowed; allowed: 'minimal', 'limited' or "
            "'high'",
        ),
        (
            "owner",
            "maria",
            "record.owner: 'maria' is not an email address such as team@example.com; allowed: an "
            "email address such as team@example.com",
        ),
        (
            "intended_use",
            "chat",
            "record.intended_use: string should have at least 20 characters (got 'chat')",
        ),
    ],
)
def test_a_record_is_refused_with_its_message(
    key: str, value: object, message: str, tmp_path: Path
) -> None:
    data = example_data()
    data["lobs"][0]["genai"]["use_cases"][0]["record"][key] = value
    assert problems(data, tmp_path) == [f"lobs[claims].genai.use_cases[0].{message}"]


def test_the_longest_names_make_an_endpoint_name_sagemaker_accepts() -> None:
    """An endpoint is named after its LOB, environment and name, each a slug: the longest of
    them still fits SageMaker's limit, so validate needs no rule of its own."""
    longest = "x" * SLUG_MAX_LENGTH
    assert SLUG.match(longest)
    name = gpu_endpoint_name(longest, "nonprod", longest)
    assert is_endpoint_name(name)


def test_two_lobs_endpoints_may_not_make_the_same_name(tmp_path: Path) -> None:
    """claims's endpoint prod-summary and an LOB claims-prod's endpoint summary would both be
    claims-prod-prod-summary."""
    data = example_data()
    claims = data["lobs"][0]
    claims["ml"]["endpoints"].append({"name": "prod-summary", "model": "mistral-7b-instruct"})
    twin = {**data["lobs"][1], "name": "claims-prod"}
    twin["ml"] = {"endpoints": [{"name": "summary", "model": "mistral-7b-instruct"}]}
    twin["environments"] = {
        name: {**env, "account": str(int(env["account"]) + 10)}
        for name, env in data["lobs"][1]["environments"].items()
    }
    data["lobs"].append(twin)
    assert problems(data, tmp_path) == [
        "lobs[claims-prod].ml.endpoints[0].name: the prod endpoint would be named "
        "'claims-prod-prod-summary', as lobs[claims].ml.endpoints[1].name is; allowed: LOB and "
        "endpoint names that make different <lob>-<environment>-<endpoint> names"
    ]


def test_a_reviewed_use_case_has_people_to_review_it_in_each_environment(
    tmp_path: Path,
) -> None:
    data = example_data()
    [engineers] = [
        a
        for a in data["organization"]["identity"]["assignments"]
        if a["group"] == "claims-ml-engineers"
    ]
    engineers["environments"] = ["interactive", "nonprod"]
    assert problems(data, tmp_path) == [
        "lobs[claims].genai.use_cases[0].record.human_review: no group of "
        "organization.identity.assignments becomes ml-engineer in claims prod, whose people "
        "review this use case's answers; allowed: an ml-engineer assignment for that LOB and "
        "environment, or human_review: false"
    ]


def test_every_lob_has_a_text_model_for_its_classification(tmp_path: Path) -> None:
    """Synth would fail building the LOB's model access (no approved model to grant)."""
    data = example_data()
    del data["platform"]["hub"]  # research uses it
    for model in data["catalog"]["bedrock"]:
        if model.get("kind", "text") == "text":
            model["max_classification"] = "confidential"
    data["lobs"][2]["data_classification"] = "restricted"
    data["lobs"][2]["genai"] = {}
    data["lobs"][2]["ml"] = {}
    assert problems(data, tmp_path) == [
        "lobs[research].data_classification: no text model of catalog.bedrock is approved for "
        "'restricted' data, so LOB 'research' could call none; allowed: data_classification: "
        "confidential or lower, or a text model of catalog.bedrock with max_classification: "
        "restricted"
    ]


def test_ml_entries_need_the_environment_they_run_in(tmp_path: Path) -> None:
    """Silently dropped before: pipelines run in nonprod, endpoints in nonprod or prod."""
    data = example_data()
    claims = data["lobs"][0]
    claims["environments"] = {"interactive": claims["environments"]["interactive"]}
    claims["genai"]["use_cases"][0]["endpoints"] = []
    del data["platform"]["hub"]  # it promotes claims' prod knowledge base
    image = claims["genai"]["agents"][0]["image"]
    claims["genai"]["agents"][0]["image"] = image.replace("555555555555", "444444444444")
    assert problems(data, tmp_path) == [
        "lobs[claims].ml.fine_tuning[0]: LOB 'claims' has no nonprod environment, where "
        "fine-tuning "
        "pipelines run; allowed: add environments.nonprod, or remove the entry",
        "lobs[claims].ml.endpoints[0]: LOB 'claims' has neither a nonprod nor a prod environment, "
        "where endpoints serve; allowed: add one, or remove the entry",
    ]


def test_long_knowledge_base_names_shorten_to_distinct_opensearch_names(
    tmp_path: Path,
) -> None:
    """Cut to 32 characters, these two once collided (collection, policies, endpoint); a hash
    of the whole name keeps them apart, so the organization file is valid."""
    data = example_data()
    research = data["lobs"][2]["genai"]
    studies = research["knowledge_bases"][0]
    research["knowledge_bases"] = [
        {**studies, "name": "clinical-trials-2020"},
        {**studies, "name": "clinical-trials-2021"},
    ]
    research["use_cases"][0]["knowledge_bases"] = ["clinical-trials-2021"]
    path = tmp_path / "org.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    config = load_config(path)
    plan = plan_for(config)
    for placement in plan.lob_environments():
        stores = data_inputs(plan, placement).vector_stores
        if len(stores) < 2:
            continue
        owned = [
            {store.collection_name}
            | {
                collection_part_name(store.collection_name, part)
                for part in ("enc", "net", "vpce", "admin", "kb")
            }
            for store in stores
        ]
        assert not owned[0] & owned[1], placement.key
        assert all(len(name) <= 32 for names in owned for name in names)


def test_a_misspelled_key_gets_a_suggestion(tmp_path: Path) -> None:
    data = example_data()
    data["lobs"][1]["cost_centre"] = data["lobs"][1].pop("cost_center")
    data["lobs"][1]["ml"] = {"studio": {"idle_minute": 90}}
    # One problem per misspelling: not also "cost_center: required key is missing".
    assert problems(data, tmp_path) == [
        "lobs[marketing].cost_centre: unknown key 'cost_centre' (did you mean 'cost_center'?); "
        "allowed: name, cost_center, data_classification, budget_usd_month, alert_emails, "
        "retain_interactive_data, auditor_metadata_read, environments, data, genai, ml",
        "lobs[marketing].ml.studio.idle_minute: unknown key 'idle_minute' (did you mean "
        "'idle_minutes'?); allowed: enabled, mlflow, users, shared_spaces, idle_minutes",
    ]


def test_pattern_errors_say_what_the_value_should_be(tmp_path: Path) -> None:
    data = example_data()
    data["platform"]["alert_emails"] = ["finops"]
    data["platform"]["pipeline"]["repository"] = "genai-platform"
    assert problems(data, tmp_path) == [
        "platform.alert_emails[0]: 'finops' is not an email address such as team@example.com; "
        "allowed: an email address such as team@example.com",
        "platform.pipeline.repository: 'genai-platform' is not OWNER/NAME; allowed: OWNER/NAME",
    ]


def test_the_vpcs_of_an_lob_do_not_overlap(tmp_path: Path) -> None:
    """Defaults included: interactive 10.0.0.0/16, nonprod 10.1.0.0/16, prod 10.2.0.0/16."""
    data = example_data()
    data["lobs"][0]["environments"]["nonprod"]["vpc_cidr"] = "10.0.128.0/17"
    data["lobs"][2]["environments"]["prod"]["vpc_cidr"] = "10.21.0.0/20"
    assert problems(data, tmp_path) == [
        "lobs[claims].environments.nonprod.vpc_cidr: 10.0.128.0/17 overlaps 10.0.0.0/16 of the "
        "interactive environment; allowed: a private range no other environment of the LOB uses",
        "lobs[research].environments.prod.vpc_cidr: 10.21.0.0/20 overlaps 10.21.0.0/16 of the "
        "nonprod environment; allowed: a private range no other environment of the LOB uses",
    ]


DIGEST = "sha256:" + "0" * 64


@pytest.mark.parametrize(
    ("image", "found"),
    [
        (
            f"666666666666.dkr.ecr.eu-west-1.amazonaws.com/claims-training-recipe@{DIGEST}",
            "666666666666/eu-west-1/claims-training-recipe",
        ),
        (
            f"555555555555.dkr.ecr.eu-west-1.amazonaws.com/genai-recipe@{DIGEST}",
            "555555555555/eu-west-1/genai-recipe",
        ),
    ],
    ids=["another-account", "another-repository"],
)
def test_the_recipe_image_comes_from_the_platforms_recipe_repository(
    tmp_path: Path, image: str, found: str
) -> None:
    data = example_data()
    tuning = data["lobs"][0]["ml"]["fine_tuning"][0]
    tuning["recipe_image"] = image
    assert problems(data, tmp_path) == [
        f"lobs[claims].ml.fine_tuning[0].recipe_image: the image is {found}; allowed: the "
        "platform's recipe repository of the LOB (555555555555.dkr.ecr.eu-west-1.amazonaws.com"
        "/claims-training-recipe@sha256:...)"
    ]


def test_under_the_centralized_model_the_recipe_image_is_the_tenancys(tmp_path: Path) -> None:
    data = example_data()
    data["organization"]["operating_model"] = "centralized"
    del data["platform"]["hub"]
    agent = data["lobs"][0]["genai"]["agents"][0]
    agent["image"] = agent["image"].replace("555555555555", "777777777772")
    tuning = data["lobs"][0]["ml"]["fine_tuning"][0]
    tuning["recipe_image"] = (
        f"555555555555.dkr.ecr.eu-west-1.amazonaws.com/claims-training-recipe@{DIGEST}"
    )
    assert problems(data, tmp_path) == [
        "lobs[claims].ml.fine_tuning[0].recipe_image: the image is "
        "555555555555/eu-west-1/claims-training-recipe; allowed: the platform's recipe "
        "repository of the LOB (777777777772.dkr.ecr.eu-west-1.amazonaws.com"
        "/claims-training-recipe@sha256:...)"
    ]


def test_a_recipe_image_is_an_ecr_uri(tmp_path: Path) -> None:
    data = example_data()
    data["lobs"][0]["ml"]["fine_tuning"][0]["recipe_image"] = "genai-recipe:latest"
    [problem] = problems(data, tmp_path)
    assert "is not an ECR image URI pinned by digest" in problem


def test_the_recipe_image_is_pinned_by_digest(tmp_path: Path) -> None:
    data = example_data()
    tuning = data["lobs"][0]["ml"]["fine_tuning"][0]
    tuning["recipe_image"] = (
        "555555555555.dkr.ecr.eu-west-1.amazonaws.com/claims-training-recipe:2026.11"
    )
    [problem] = problems(data, tmp_path)
    assert problem.startswith(
        "lobs[claims].ml.fine_tuning[0].recipe_image: '555555555555.dkr.ecr.eu-west-1."
        "amazonaws.com/claims-training-recipe:2026.11' is not an ECR image URI pinned by digest"
    )


# ---------------------------------------------------------------- RAG settings


def _claims_kb(data: dict) -> dict:
    return data["lobs"][0]["genai"]["knowledge_bases"][0]


def test_hierarchical_children_are_smaller_than_their_parents(tmp_path: Path) -> None:
    data = example_data()
    _claims_kb(data)["chunking"] = {
        "strategy": "hierarchical",
        "parent_max_tokens": 300,
        "child_max_tokens": 300,
    }
    [problem] = problems(data, tmp_path)
    assert problem.startswith("lobs[claims].genai.knowledge_bases[0].chunking")
    assert "child_max_tokens (300) is not below parent_max_tokens (300)" in problem
    assert "allowed: child_max_tokens < parent_max_tokens" in problem


def test_hierarchical_overlap_is_smaller_than_a_child(tmp_path: Path) -> None:
    data = example_data()
    _claims_kb(data)["chunking"] = {"strategy": "hierarchical", "overlap_tokens": 300}
    [problem] = problems(data, tmp_path)
    assert "overlap_tokens (300) is not below child_max_tokens (300)" in problem


def test_chunking_strategies_are_named(tmp_path: Path) -> None:
    data = example_data()
    _claims_kb(data)["chunking"] = {"strategy": "sentences"}
    [problem] = problems(data, tmp_path)
    assert problem.startswith("lobs[claims].genai.knowledge_bases[0].chunking")
    for strategy in ("fixed-size", "hierarchical", "semantic", "none"):
        assert strategy in problem


@pytest.mark.parametrize(
    ("chunking", "field"),
    [
        ({"strategy": "fixed-size", "max_tokens": 9000}, "max_tokens"),
        ({"strategy": "fixed-size", "overlap_percent": 0}, "overlap_percent"),
        ({"strategy": "semantic", "buffer_size": 2}, "buffer_size"),
        ({"strategy": "semantic", "breakpoint_percentile": 40}, "breakpoint_percentile"),
    ],
)
def test_chunking_parameters_stay_within_bedrocks_bounds(
    chunking: dict, field: str, tmp_path: Path
) -> None:
    data = example_data()
    _claims_kb(data)["chunking"] = chunking
    [problem] = problems(data, tmp_path)
    assert problem.startswith(f"lobs[claims].genai.knowledge_bases[0].chunking.{field}")


def test_documents_are_parsed_by_a_text_model_of_the_catalog(tmp_path: Path) -> None:
    data = example_data()
    _claims_kb(data)["parsing"] = {"model": "amazon.titan-embed-text-v2:0"}
    assert problems(data, tmp_path) == [
        "lobs[claims].genai.knowledge_bases[0].parsing.model: model "
        "'amazon.titan-embed-text-v2:0' is a embedding model; allowed: amazon.nova-pro-v1:0, "
        "amazon.nova-lite-v1:0"
    ]


def test_ingestion_schedules_are_eventbridge_schedules(tmp_path: Path) -> None:
    data = example_data()
    _claims_kb(data)["ingestion"] = {"schedule": "daily"}
    [problem] = problems(data, tmp_path)
    assert problem.startswith("lobs[claims].genai.knowledge_bases[0].ingestion.schedule")
    assert "'daily' is not an EventBridge schedule" in problem


def test_rag_settings_need_knowledge_bases(tmp_path: Path) -> None:
    data = example_data()
    data["lobs"][1]["genai"]["use_cases"][0]["rag"] = {"memory_turns": 3}
    [problem] = problems(data, tmp_path)
    assert problem.startswith("lobs[marketing].genai.use_cases[0]")
    assert "rag is set but the use case retrieves from no knowledge base" in problem


def test_evaluation_question_sets_are_json_lines_keys(tmp_path: Path) -> None:
    data = example_data()
    use_case = data["lobs"][0]["genai"]["use_cases"][0]
    use_case["rag"]["evaluation"]["questions_key"] = "/evaluation/questions.csv"
    [problem] = problems(data, tmp_path)
    assert problem.startswith("lobs[claims].genai.use_cases[0].rag.evaluation.questions_key")
    assert "ending in .jsonl" in problem


def test_questions_are_bounded_by_retrieve_and_generate(tmp_path: Path) -> None:
    [problem] = problems(edited(("guardrails", "max_question_chars"), 20001), tmp_path)
    assert problem.startswith("guardrails.max_question_chars")


def test_opensearch_names_that_fit_keep_their_deployed_form() -> None:
    """Up to 30 characters a collection's policies keep the names cut to 32 they were
    deployed with (distinct per part); beyond, a hash keeps the parts apart."""
    thirty = "research-nonprod-clinical-tria"
    assert [collection_part_name(thirty, part) for part in ("enc", "admin", "kb")] == [
        "research-nonprod-clinical-tria-e",
        "research-nonprod-clinical-tria-a",
        "research-nonprod-clinical-tria-k",
    ]
    assert collection_part_name("research-nonprod-studies", "admin") == (
        "research-nonprod-studies-admin"
    )
    longer = [collection_part_name(thirty + "ls", part) for part in ("admin", "kb")]
    assert longer[0].endswith("-admin") and longer[1].endswith("-kb")
    assert len(set(longer)) == 2


def test_a_short_name_keeps_its_start_and_a_hash_of_the_whole() -> None:
    assert short_name("research-nonprod-studies") == "research-nonprod-studies"
    first, second = (short_name(f"research-nonprod-clinical-trials-{y}") for y in (2020, 2021))
    assert first != second
    assert first.startswith("research-nonprod-clinical") and len(first) == 32
    assert collection_part_name(first, "admin").endswith("-admin")
    assert len(collection_part_name(first, "admin")) == 32


def test_a_parsing_model_is_called_without_a_guardrail_like_the_embedding_models(
    tmp_path: Path,
) -> None:
    """Bedrock calls it with documents during ingestion: the boundary and the enforced
    guardrail leave it out, as they leave out the embedding models."""
    data = example_data()
    _claims_kb(data)["parsing"] = {"model": "amazon.nova-pro-v1:0"}
    path = tmp_path / "org.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    unguarded = plan_for(load_config(path)).unguarded_model_ids()
    assert unguarded == ("amazon.titan-embed-text-v2:0", "amazon.nova-pro-v1:0")
    assert plan_for(load_config(EXAMPLE)).unguarded_model_ids() == ("amazon.titan-embed-text-v2:0",)


# ---------------------------------------------------------------- interface endpoints


def test_operational_environments_keep_endpoints_in_every_zone(tmp_path: Path) -> None:
    data = example_data()
    data["lobs"][0]["environments"]["prod"]["endpoint_azs"] = 1
    assert problems(data, tmp_path) == [
        "lobs[claims].environments.prod.endpoint_azs: operational environments keep an "
        "interface endpoint in every zone; allowed: endpoint_azs on the interactive "
        "environment only"
    ]


def test_extra_endpoints_are_named_from_the_platforms_list(tmp_path: Path) -> None:
    data = example_data()
    data["lobs"][1]["environments"]["prod"]["extra_endpoints"] = ["Logs", "CloudWatch"]
    [problem] = problems(data, tmp_path)
    assert problem.startswith("lobs[marketing].environments.prod.extra_endpoints[1]")
    assert "'CloudWatch' is not an interface endpoint of the platform; allowed: Bedrock," in problem


def test_extra_endpoints_join_those_the_workloads_call(tmp_path: Path) -> None:
    """An LOB whose applications run as ECS tasks in the VPC adds what they pull and log with."""
    data = example_data()
    data["lobs"][1]["environments"]["prod"]["extra_endpoints"] = ["EcrDocker", "EcrApi", "Logs"]
    path = tmp_path / "org.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    plan = plan_for(load_config(path))
    [prod] = [p for p in plan.lob_environments() if p.key == "marketing-prod"]
    assert interface_endpoints(plan, prod) == (
        "BedrockRuntime",
        "Logs",
        "EcrApi",
        "EcrDocker",
    )


@pytest.mark.parametrize(
    ("rag", "field"),
    [
        ({"memory_turns": 21}, "memory_turns"),
        ({"results": 0}, "results"),
        ({"evaluation": {"faithfulness": 1.5}}, "evaluation.faithfulness"),
    ],
)
def test_rag_settings_stay_within_their_bounds(rag: dict, field: str, tmp_path: Path) -> None:
    data = example_data()
    data["lobs"][0]["genai"]["use_cases"][0]["rag"] = rag
    [problem] = problems(data, tmp_path)
    assert problem.startswith(f"lobs[claims].genai.use_cases[0].rag.{field}")


def test_a_knowledge_base_with_nothing_set_gets_the_documented_defaults() -> None:
    kb = KnowledgeBaseConfig(name="notes", embedding_model="amazon.titan-embed-text-v2:0")
    assert kb.chunking == FixedSizeChunking(
        strategy="fixed-size", max_tokens=300, overlap_percent=20
    )
    assert (kb.ingestion.on_upload, kb.ingestion.schedule) == (True, "rate(1 day)")
    assert kb.parsing is None and kb.source_prefix == "notes/"
    assert HierarchicalChunking(strategy="hierarchical").model_dump() == {
        "strategy": "hierarchical",
        "parent_max_tokens": 1500,
        "child_max_tokens": 300,
        "overlap_tokens": 60,
    }
    assert SemanticChunking(strategy="semantic").model_dump() == {
        "strategy": "semantic",
        "max_tokens": 300,
        "buffer_size": 0,
        "breakpoint_percentile": 95,
    }
    use = UseCase(name="ask", model="amazon.nova-pro-v1:0", knowledge_bases=["notes"])
    assert use.rag.model_dump() == {
        "answer_api": True,
        "memory_turns": 0,
        "results": 5,
        "evaluation": {
            "questions_key": None,
            "faithfulness": 0.7,
            "answer_relevance": 0.3,
            "context_precision": 0.5,
            "schedule": "rate(7 days)",
        },
    }
    assert use.evaluation_questions_key == "evaluation/ask/questions.jsonl"
    unscheduled = KnowledgeBaseConfig.model_validate(
        {"name": "unscheduled", "embedding_model": "m", "ingestion": {"schedule": None}}
    )
    assert unscheduled.ingestion.schedule is None


def test_chunking_has_a_floor_of_twenty_tokens(tmp_path: Path) -> None:
    data = example_data()
    _claims_kb(data)["chunking"] = {"strategy": "fixed-size", "max_tokens": 19}
    [problem] = problems(data, tmp_path)
    assert "greater than or equal to 20 (got 19)" in problem


def test_a_dataset_says_which_rule_names_an_unknown_column(tmp_path: Path) -> None:
    data = example_data()
    dataset = data["lobs"][0]["data"]["datasets"][0]
    dataset["quality_rules"].append('IsComplete "claimid"')
    dataset["columns"].append({"name": "amount", "type": "double"})
    assert problems(data, tmp_path) == [
        "lobs[claims].data.datasets[0]: columns repeat the name amount; allowed: each column once"
    ]
    dataset["columns"].pop()
    assert problems(data, tmp_path) == [
        "lobs[claims].data.datasets[0]: quality_rules[5] 'IsComplete \"claimid\"' names the "
        "column claimid, which the dataset does not have; allowed: claim_id, policy_id, amount, "
        "status, opened_on"
    ]


def test_a_quality_rule_is_one_the_platform_runs(tmp_path: Path) -> None:
    data = example_data()
    dataset = data["lobs"][0]["data"]["datasets"][0]
    dataset["quality_rules"] = [
        'CustomSql "select count(*) from primary"',
        'IsComplete "claim_id',
        "RowCount > 0",
    ]
    dataset["columns"][0]["name"] = "Claim-Id"
    dataset["format"] = "parquet"
    column = "a column name (lower-case letters, digits and '_', starting with a letter or '_')"
    assert problems(data, tmp_path) == [
        "lobs[claims].data.datasets[0].format: 'parquet' is not allowed; allowed: 'csv' or 'jsonl'",
        f"lobs[claims].data.datasets[0].columns[0].name: 'Claim-Id' is not {column}; "
        f"allowed: {column}",
        "lobs[claims].data.datasets[0].quality_rules[0]: 'CustomSql \"select count(*) from "
        "primary\"' is not a Glue Data Quality rule this platform runs; allowed: a rule "
        "starting with one of ColumnCorrelation, ColumnCount, ColumnDataType, ColumnExists, "
        "ColumnLength, ColumnValues, Completeness, DataFreshness, DistinctValuesCount, Entropy, "
        "IsComplete, IsPrimaryKey, IsUnique, Mean, RowCount, StandardDeviation, Sum, "
        "UniqueValueRatio, Uniqueness (DQDL)",
        "lobs[claims].data.datasets[0].quality_rules[1]: 'IsComplete \"claim_id' has an "
        "unclosed quote or bracket, or a line break",
    ]


def test_datasets_are_named_once_and_scheduled_only_when_there_are_some(tmp_path: Path) -> None:
    data = example_data()
    lob = data["lobs"][0]
    lob["data"]["datasets"].append(dict(lob["data"]["datasets"][0]))
    assert problems(data, tmp_path) == [
        "lobs[claims].data: datasets repeat the name claims; allowed: one dataset per name"
    ]
    lob["data"]["datasets"] = []
    del lob["ml"]["fine_tuning"][0]["bias"]  # its probes are a dataset
    assert problems(data, tmp_path) == [
        "lobs[claims].data: etl_schedule is set but there is no dataset; allowed: datasets first"
    ]
    lob["data"]["etl_schedule"] = "every night"
    [line] = problems(data, tmp_path)
    assert line.startswith("lobs[claims].data.etl_schedule: 'every night'")


def test_an_invocation_log_group_fits_the_token_metric_filters(tmp_path: Path) -> None:
    """Two metric filters per use case (its tokens in and out) and two for the alarms: a log
    group takes 100."""
    data = example_data()
    use_cases = data["lobs"][2]["genai"]["use_cases"]
    template = use_cases[0]
    use_cases += [{**template, "name": f"review-{n}"} for n in range(48)]
    path = tmp_path / "fits.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    load_config(path)  # 49 use cases: 100 filters
    use_cases.append({**template, "name": "one-too-many"})
    message = (
        "the invocation log group of account {} in eu-west-1 would hold 102 metric filters "
        "(2 per use case of each LOB environment it records, 2 for its alarms); allowed: at "
        "most 100 (a CloudWatch Logs quota): fewer use cases in that account and region"
    )
    assert problems(data, tmp_path) == [
        f"lobs[research].genai.use_cases: {message.format(account)}"
        for account in ("444444444446", "555555555557", "666666666668")
    ]
