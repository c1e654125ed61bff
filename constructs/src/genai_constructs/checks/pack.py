"""``GenAIPlatformChecks``: the platform's own controls as a cdk-nag pack that fails synthesis."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import (
    CfnResource,
    IPolicyValidationContext,
    PolicyValidationPluginReport,
    PolicyViolatingResource,
    PolicyViolation,
    Stack,
    Stage,
)
from cdk_nag import IApplyRule, NagMessageLevel, NagPack, NagRuleCompliance
from constructs import IConstruct

from genai_constructs.checks.evaluate import PACK, Result, evaluate, rule_id
from genai_constructs.checks.rule import CheckSettings, Compliance, Resource, Rule, Template
from genai_constructs.checks.rules import RULES


class GenAIPlatformChecks(NagPack):
    """The organization's controls (``RULES``: encryption, TLS, boundaries, no internet path,
    audit logging, data residency, guardrail on model access, cost tags), one cdk-nag rule
    each, with the NIST 800-53, HIPAA and PCI DSS control IDs it implements.

    During synthesis the pack checks the synthesized templates (the validation plugin's
    input) in one pass; ``validate_scope`` walks the construct tree like every cdk-nag pack
    and needs the app synthesized first. Acknowledge a finding as for any cdk-nag rule, with
    ``genai_constructs.acknowledge(resource, "GenAIPlatform-<Rule>", reason)``.

    :param scope: default none; the app, to write acknowledgments into template metadata.
    :param allowed_regions: default any; regions the stacks may deploy to.
    :param unguarded_model_ids: default none; Bedrock models callers may invoke without a
        guardrail (embedding models).
    :param rules: default ``RULES``, all of them.
    """

    def __init__(
        self,
        scope: IConstruct | None = None,
        *,
        allowed_regions: Sequence[str] = (),
        unguarded_model_ids: Sequence[str] = (),
        rules: Sequence[Rule] = RULES,
    ) -> None:
        super().__init__(scope, write_suppressions_to_cloud_formation=scope is not None)
        self._pack_name = PACK
        self.settings = CheckSettings(tuple(allowed_regions), tuple(unguarded_model_ids))
        self.rules = tuple(rules)
        self._templates: dict[int, Template] = {}

    @property
    def name(self) -> str:
        return PACK

    def validate(self, context: IPolicyValidationContext) -> PolicyValidationPluginReport:
        stacks = list(context.stack_templates)
        # CDK lets synthesis pass when a plugin raises, or reports a violation that names no
        # construct: an error in a rule becomes a violation on every stack instead.
        try:
            violations = self._violations([(s.template_path, s.region or "") for s in stacks])
        except Exception as error:
            violations = [
                PolicyViolation(
                    rule_name=f"{PACK}-CheckError",
                    description=f"The platform checks could not run: {error!r}",
                    severity="error",
                    violating_resources=[
                        PolicyViolatingResource(construct_path=s.stack_construct_path, locations=[])
                        for s in stacks
                    ],
                )
            ]
        return PolicyValidationPluginReport(success=not violations, violations=violations)

    def _violations(self, stacks: list[tuple[str, str]]) -> list[PolicyViolation]:
        """One violation per failing rule, naming every unacknowledged resource."""
        templates = {path: Template.read(Path(path), region) for path, region in stacks}
        paths = {template.name: path for path, template in templates.items()}
        failing: dict[str, list[Result]] = {}
        for result in evaluate(templates.values(), self.settings, self.rules):
            if result.violation:
                failing.setdefault(result.rule.name, []).append(result)
        return [
            PolicyViolation(
                rule_name=rule_id(results[0].rule),
                description=f"{results[0].rule.info} {results[0].rule.explanation}",
                severity="error",
                rule_metadata=control_ids(results[0].rule),
                violating_resources=[
                    PolicyViolatingResource(
                        resource_logical_id=result.logical_id,
                        template_path=paths[result.template.name],
                        locations=["Properties"],
                    )
                    for result in results
                ],
            )
            for results in failing.values()
        ]

    def _check_resource(self, node: CfnResource) -> None:
        stack = Stack.of(node)
        template = self._template(stack)
        logical_id = stack.get_logical_id(node)
        resource = Resource(logical_id, template.resources[logical_id], template)
        for rule in self.rules:
            if rule.check(resource, self.settings) is Compliance.NON_COMPLIANT:
                self._apply_rule(_Failure(rule, node))

    def _template(self, stack: Stack) -> Template:
        """The stack's synthesized template (jsii hands back one proxy per stack)."""
        key = id(stack)
        if key not in self._templates:
            path = Path(Stage.of(stack).outdir, stack.template_file)
            if not path.is_file():
                raise ValueError(
                    f"GenAIPlatformChecks checks synthesized templates: synthesize the app "
                    f"before validate_scope() ({path} does not exist)"
                )
            self._templates[key] = Template.read(path, stack.region)
        return self._templates[key]


def control_ids(rule: Rule) -> dict[str, str]:
    """The rule's control and its framework control IDs, as violation metadata."""
    return {
        "control": rule.control,
        **{pack: ", ".join(ids) for pack, ids in rule.controls.items()},
    }


@jsii.implements(IApplyRule)
class _Failure:
    """A rule that failed on ``node``, handed to cdk-nag (which honours acknowledgments).

    jsii reads an interface's members from a Python object only through properties.
    """

    def __init__(self, rule: Rule, node: CfnResource) -> None:
        self._rule = rule
        self._node = node

    @property
    def node(self) -> CfnResource:
        return self._node

    @property
    def rule_suffix_override(self) -> str:
        return self._rule.name

    @property
    def info(self) -> str:
        return self._rule.info

    @property
    def explanation(self) -> str:
        return self._rule.explanation

    @property
    def level(self) -> NagMessageLevel:
        return NagMessageLevel.ERROR

    def rule(self, _: Any) -> NagRuleCompliance:
        return NagRuleCompliance.NON_COMPLIANT
