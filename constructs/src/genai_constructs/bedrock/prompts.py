"""Managed prompts (``PromptSpec``, ``PromptCatalog``), each with a version per content hash."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from aws_cdk import RemovalPolicy
from aws_cdk import aws_bedrock as bedrock
from aws_cdk import aws_kms as kms
from constructs import Construct

from genai_constructs.bedrock.versions import fingerprint
from genai_constructs.naming import pascal


@dataclass(frozen=True)
class PromptSpec:
    name: str
    model_id: str
    template: str
    description: str = ""
    temperature: float = 0.2
    max_tokens: int = 512

    @property
    def variables(self) -> list[str]:
        """``{{name}}`` placeholders of the template, in order of first use."""
        names: list[str] = []
        rest = self.template
        while "{{" in rest and "}}" in rest.split("{{", 1)[1]:
            name, rest = rest.split("{{", 1)[1].split("}}", 1)
            if name.strip() and name.strip() not in names:
                names.append(name.strip())
        return names


class PromptCatalog(Construct):
    """Managed prompts (``AWS::Bedrock::Prompt``), each with a version per content hash.

    :param prompts: the prompts; names unique.
    :param encryption_key: customer-managed key for the prompts.
    :param name_prefix: prefix of the Bedrock prompt names, e.g. ``claims-prod``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        prompts: Sequence[PromptSpec],
        encryption_key: kms.IKey,
        name_prefix: str,
    ) -> None:
        super().__init__(scope, construct_id)
        names = [prompt.name for prompt in prompts]
        if len(set(names)) != len(names):
            raise ValueError(f"PromptCatalog: prompt names must be unique (got {names})")

        self.prompts: dict[str, bedrock.CfnPrompt] = {}
        self.versions: dict[str, bedrock.CfnPromptVersion] = {}
        for spec in prompts:
            prompt = bedrock.CfnPrompt(
                self,
                pascal(spec.name),
                name=f"{name_prefix}-{spec.name}",
                description=spec.description or None,
                customer_encryption_key_arn=encryption_key.key_arn,
                default_variant="default",
                variants=[
                    bedrock.CfnPrompt.PromptVariantProperty(
                        name="default",
                        template_type="TEXT",
                        model_id=spec.model_id,
                        template_configuration=bedrock.CfnPrompt.PromptTemplateConfigurationProperty(
                            text=bedrock.CfnPrompt.TextPromptTemplateConfigurationProperty(
                                text=spec.template,
                                input_variables=[
                                    bedrock.CfnPrompt.PromptInputVariableProperty(name=variable)
                                    for variable in spec.variables
                                ]
                                or None,
                            )
                        ),
                        inference_configuration=bedrock.CfnPrompt.PromptInferenceConfigurationProperty(
                            text=bedrock.CfnPrompt.PromptModelInferenceConfigurationProperty(
                                temperature=spec.temperature, max_tokens=spec.max_tokens
                            )
                        ),
                    )
                ],
            )
            version = bedrock.CfnPromptVersion(
                self,
                f"{pascal(spec.name)}Version{fingerprint(asdict(spec))}",
                prompt_arn=prompt.attr_arn,
                description=f"Content {fingerprint(asdict(spec))}",
            )
            version.apply_removal_policy(RemovalPolicy.RETAIN)
            self.prompts[spec.name] = prompt
            self.versions[spec.name] = version
