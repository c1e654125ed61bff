"""The platform's own rules, one per module."""

from genai_constructs.checks.rule import Rule
from genai_constructs.checks.rules import (
    audit_logging,
    cost_tags,
    data_residency,
    encryption_at_rest,
    model_guardrail,
    no_internet_path,
    role_boundary,
    signed_requests_only,
    tls_only,
)

RULES: tuple[Rule, ...] = (
    encryption_at_rest.RULE,
    tls_only.RULE,
    role_boundary.RULE,
    no_internet_path.RULE,
    audit_logging.RULE,
    data_residency.RULE,
    model_guardrail.RULE,
    cost_tags.RULE,
    signed_requests_only.RULE,
)

__all__ = ["RULES"]
