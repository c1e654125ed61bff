"""Application inference profiles: one per use case, tagged for cost attribution."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import CfnTag, Stack
from aws_cdk import aws_bedrock as bedrock
from constructs import Construct

from genai_constructs.bedrock.model_access import ApprovedModel
from genai_constructs.naming import pascal


class ApplicationInferenceProfiles(Construct):
    """One application inference profile per use case, tagged for cost attribution.

    :param use_cases: use-case name to the approved model it runs on.
    :param name_prefix: prefix of profile names, e.g. ``claims-prod``.
    :param tags: cost tags (lob, environment, cost-center, ...) added to every profile.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        use_cases: Mapping[str, ApprovedModel],
        name_prefix: str,
        tags: Mapping[str, str],
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.profiles: dict[str, bedrock.CfnApplicationInferenceProfile] = {}
        for use_case, model in use_cases.items():
            self.profiles[use_case] = bedrock.CfnApplicationInferenceProfile(
                self,
                pascal(use_case),
                inference_profile_name=f"{name_prefix}-{use_case}",
                description=f"Use case {use_case} on {model.invocation_id}",
                model_source=bedrock.CfnApplicationInferenceProfile.InferenceProfileModelSourceProperty(
                    copy_from=model.source_arn(stack)
                ),
                tags=[
                    CfnTag(key=key, value=value)
                    for key, value in sorted({**tags, "use-case": use_case}.items())
                ],
            )

    @property
    def arns(self) -> dict[str, str]:
        """Each use case's profile ARN, by use case."""
        return {
            use_case: profile.attr_inference_profile_arn
            for use_case, profile in self.profiles.items()
        }
