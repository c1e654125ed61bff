"""Rules that relate several parts of an organization file.

They read the raw YAML data rather than the models, so a typo in one LOB does not hide a
shared account in another: every problem is reported in one run.
"""

from __future__ import annotations

from typing import Any

from blueprint.model.errors import ConfigProblem
from blueprint.model.operating_rules import operating_model_problems
from blueprint.model.rules.accounts import (
    account_problems,
    endpoint_zone_problems,
    lob_name_problems,
    metrics_sink_problems,
    region_problems,
    vpc_overlap_problems,
    zone_problems,
)
from blueprint.model.rules.agents import (
    agent_policy_size_problems,
    agent_problems,
    hub_agent_problems,
)
from blueprint.model.rules.genai import (
    catalog_problems,
    lob_model_problems,
    model_reference_problems,
    token_metric_filter_problems,
    use_case_record_problems,
    use_case_reference_problems,
)
from blueprint.model.rules.identity import identity_problems, reviewer_problems
from blueprint.model.rules.ml import (
    base_weights_problems,
    bias_probes_problems,
    endpoint_name_problems,
    environment_need_problems,
    ml_problems,
    recipe_image_problems,
)


def cross_field_problems(data: dict[str, Any]) -> list[ConfigProblem]:
    """Every cross-field problem in ``data``, the parsed organization file."""
    return [
        *region_problems(data),
        *zone_problems(data),
        *account_problems(data),
        *lob_name_problems(data),
        *catalog_problems(data),
        *model_reference_problems(data),
        *ml_problems(data),
        *endpoint_name_problems(data),
        *lob_model_problems(data),
        *environment_need_problems(data),
        *vpc_overlap_problems(data),
        *endpoint_zone_problems(data),
        *recipe_image_problems(data),
        *base_weights_problems(data),
        *bias_probes_problems(data),
        *use_case_reference_problems(data),
        *use_case_record_problems(data),
        *token_metric_filter_problems(data),
        *agent_problems(data),
        *hub_agent_problems(data),
        *agent_policy_size_problems(data),
        *metrics_sink_problems(data),
        *operating_model_problems(data),
        *identity_problems(data),
        *reviewer_problems(data),
    ]
