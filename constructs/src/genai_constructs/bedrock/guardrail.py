"""Guardrails: the policy (``GuardrailSpec``), the construct that publishes it
(``GovernedGuardrail``), the interface other constructs take and its importer (``IGuardrail``),
and what a caller of a guardrail needs (``guardrail_statements``)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Protocol

from aws_cdk import Arn, ArnFormat, RemovalPolicy, Stack, Token
from aws_cdk import aws_bedrock as bedrock
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from genai_constructs.bedrock.versions import fingerprint
from genai_constructs.grants import grant_statements
from genai_constructs.naming import PII_ENTITIES

CONTENT_FILTERS = ("HATE", "INSULTS", "SEXUAL", "VIOLENCE", "MISCONDUCT", "PROMPT_ATTACK")
STRENGTHS = ("NONE", "LOW", "MEDIUM", "HIGH")
PII_ACTIONS = ("BLOCK", "ANONYMIZE")
_GUARDRAIL_ARN = re.compile(r"^arn:aws[a-z-]*:bedrock:[a-z0-9-]+:\d{12}:guardrail/[a-z0-9]+$")
_GUARDRAIL_VERSION = re.compile(r"^[1-9]\d{0,7}$")


class IGuardrail(Protocol):
    """A published guardrail version, of this app (``GovernedGuardrail``) or imported
    (``GovernedGuardrail.from_guardrail_attributes``)."""

    @property
    def guardrail_arn(self) -> str: ...

    @property
    def guardrail_id(self) -> str: ...

    @property
    def guardrail_version(self) -> str: ...

    @property
    def versioned_arn(self) -> str:
        """``<guardrail ARN>:<version>``: the value of ``bedrock:GuardrailIdentifier``."""
        ...

    @property
    def encryption_key(self) -> kms.IKey | None:
        """The key the guardrail is encrypted with; none when an import does not name it."""
        ...

    def grant_apply(self, grantee: iam.IGrantable) -> iam.Grant: ...


def _grant_apply(grantee: iam.IGrantable, guardrail: IGuardrail) -> iam.Grant:
    """``ApplyGuardrail`` on the guardrail and, when its key is known, decrypting with the key
    through Bedrock: one grant, written as ``guardrail_statements`` writes it."""
    return grant_statements(grantee, guardrail_statements(guardrail, Stack.of(guardrail).region))


def guardrail_statements(guardrail: IGuardrail, region: str) -> list[iam.PolicyStatement]:
    """What a caller of the guardrail needs: ``ApplyGuardrail`` on it and, when its key is
    known, ``kms:Decrypt`` with the key through Bedrock in ``region``."""
    statements = [
        iam.PolicyStatement(
            sid="ApplyTheGuardrail",
            actions=["bedrock:ApplyGuardrail"],
            resources=[guardrail.guardrail_arn],
        )
    ]
    if guardrail.encryption_key is not None:
        statements.append(
            iam.PolicyStatement(
                sid="DecryptTheGuardrail",
                actions=["kms:Decrypt"],
                resources=[guardrail.encryption_key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"bedrock.{region}.amazonaws.com"}},
            )
        )
    return statements


class _ImportedGuardrail(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        guardrail_arn: str,
        version: str,
        encryption_key: kms.IKey | None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.encryption_key = encryption_key
        if not Token.is_unresolved(guardrail_arn) and not _GUARDRAIL_ARN.match(guardrail_arn):
            raise ValueError(
                f"GovernedGuardrail.from_guardrail_attributes: guardrail_arn '{guardrail_arn}' "
                "is not a guardrail ARN (arn:aws:bedrock:REGION:ACCOUNT:guardrail/ID)"
            )
        if not Token.is_unresolved(version) and not _GUARDRAIL_VERSION.match(version):
            raise ValueError(
                f"GovernedGuardrail.from_guardrail_attributes: version '{version}' is not a "
                "published version number (DRAFT cannot be enforced)"
            )
        self.guardrail_arn = guardrail_arn
        self.guardrail_id = str(
            Arn.split(guardrail_arn, ArnFormat.SLASH_RESOURCE_NAME).resource_name
        )
        self.guardrail_version = version
        self.versioned_arn = f"{guardrail_arn}:{version}"

    def grant_apply(self, grantee: iam.IGrantable) -> iam.Grant:
        return _grant_apply(grantee, self)


@dataclass(frozen=True)
class DeniedTopicSpec:
    name: str
    definition: str
    examples: tuple[str, ...] = ()


@dataclass(frozen=True)
class GuardrailSpec:
    """A guardrail policy, independent of any account.

    :param content_filters: filter type (``CONTENT_FILTERS``) to strength (``STRENGTHS``).
    :param pii_entities: Bedrock PII entity type to ``BLOCK`` or ``ANONYMIZE``.
    :param grounding_threshold: contextual grounding threshold, default none (off).
    :param relevance_threshold: relevance threshold, default none (off).
    """

    content_filters: Mapping[str, str]
    blocked_input_message: str
    blocked_output_message: str
    pii_entities: Mapping[str, str] = field(default_factory=dict)
    denied_topics: tuple[DeniedTopicSpec, ...] = ()
    words: tuple[str, ...] = ()
    profanity_filter: bool = True
    grounding_threshold: float | None = None
    relevance_threshold: float | None = None

    def fingerprint(self) -> str:
        return fingerprint(asdict(self))


# Bedrock's guardrail names.
GUARDRAIL_NAME = re.compile(r"^[0-9a-zA-Z_-]{1,50}$")


class GovernedGuardrail(Construct):
    """A Bedrock guardrail from a central policy, encrypted, with a published version.

    The version's construct id carries a hash of the policy, so a policy change publishes a
    new version (old versions are retained as the record of what was in force). With
    ``enforce``, the account-level enforced guardrail configuration applies the version to
    every model invocation in the account and region, on the whole of every message and
    system prompt (selective guarding is pinned to comprehensive, so callers cannot guard only
    a harmless fragment).

    :param name: guardrail name (Bedrock requires one), unique in the account and region.
    :param spec: the policy.
    :param encryption_key: customer-managed key for the guardrail.
    :param enforce: default ``False``; add ``AWS::Bedrock::EnforcedGuardrailConfiguration``.
    :param unenforced_model_ids: default none; models the enforcement leaves out (embedding
        models, whose inputs are documents being indexed, not prompts).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        spec: GuardrailSpec,
        encryption_key: kms.IKey,
        enforce: bool = False,
        unenforced_model_ids: Sequence[str] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        self.encryption_key: kms.IKey | None = encryption_key
        if not Token.is_unresolved(name) and not GUARDRAIL_NAME.match(name):
            raise ValueError(
                f"GovernedGuardrail: name '{name}' is not a guardrail name; allowed: 1-50 "
                "letters, digits, '-' and '_' (no spaces)"
            )
        for kind, strength in spec.content_filters.items():
            if kind not in CONTENT_FILTERS or strength not in STRENGTHS:
                raise ValueError(
                    f"GovernedGuardrail: content filter {kind}={strength} is not valid; allowed: "
                    f"{', '.join(CONTENT_FILTERS)} with {', '.join(STRENGTHS)}"
                )
        for entity, action in spec.pii_entities.items():
            if action not in PII_ACTIONS:
                raise ValueError(
                    f"GovernedGuardrail: PII action {entity}={action} is not valid; "
                    f"allowed: {', '.join(PII_ACTIONS)}"
                )
            if not Token.is_unresolved(entity) and entity not in PII_ENTITIES:
                raise ValueError(
                    f"GovernedGuardrail: pii_entities: '{entity}' is not a Bedrock PII entity "
                    "type; allowed: e.g. EMAIL, PHONE, NAME, US_SOCIAL_SECURITY_NUMBER "
                    "(genai_constructs.naming.PII_ENTITIES)"
                )
        if not spec.content_filters:
            raise ValueError("GovernedGuardrail: content_filters must name at least one filter")
        for prop in ("grounding_threshold", "relevance_threshold"):
            value = getattr(spec, prop)
            if value is not None and not Token.is_unresolved(value) and not 0 <= value < 1:
                raise ValueError(
                    f"GovernedGuardrail: {prop} must be at least 0 and below 1 (got {value})"
                )
        for prop in ("blocked_input_message", "blocked_output_message"):
            message = getattr(spec, prop)
            if not Token.is_unresolved(message) and not 1 <= len(message.strip()) <= 500:
                raise ValueError(
                    f"GovernedGuardrail: {prop} must be 1-500 characters of text (got {message!r})"
                )

        self.guardrail = bedrock.CfnGuardrail(
            self,
            "Guardrail",
            name=name,
            description="Central guardrail policy of the GenAI platform",
            blocked_input_messaging=spec.blocked_input_message,
            blocked_outputs_messaging=spec.blocked_output_message,
            kms_key_arn=encryption_key.key_arn,
            content_policy_config=bedrock.CfnGuardrail.ContentPolicyConfigProperty(
                filters_config=[
                    bedrock.CfnGuardrail.ContentFilterConfigProperty(
                        type=kind,
                        input_strength=strength,
                        # Bedrock evaluates prompt attacks on input only.
                        output_strength="NONE" if kind == "PROMPT_ATTACK" else strength,
                    )
                    for kind, strength in sorted(spec.content_filters.items())
                ]
            ),
            sensitive_information_policy_config=(
                bedrock.CfnGuardrail.SensitiveInformationPolicyConfigProperty(
                    pii_entities_config=[
                        bedrock.CfnGuardrail.PiiEntityConfigProperty(type=entity, action=action)
                        for entity, action in sorted(spec.pii_entities.items())
                    ]
                )
                if spec.pii_entities
                else None
            ),
            topic_policy_config=(
                bedrock.CfnGuardrail.TopicPolicyConfigProperty(
                    topics_config=[
                        bedrock.CfnGuardrail.TopicConfigProperty(
                            name=topic.name,
                            definition=topic.definition,
                            examples=list(topic.examples) or None,
                            type="DENY",
                        )
                        for topic in spec.denied_topics
                    ]
                )
                if spec.denied_topics
                else None
            ),
            word_policy_config=(
                bedrock.CfnGuardrail.WordPolicyConfigProperty(
                    words_config=[
                        bedrock.CfnGuardrail.WordConfigProperty(text=word) for word in spec.words
                    ]
                    or None,
                    managed_word_lists_config=(
                        [bedrock.CfnGuardrail.ManagedWordsConfigProperty(type="PROFANITY")]
                        if spec.profanity_filter
                        else None
                    ),
                )
                if spec.words or spec.profanity_filter
                else None
            ),
            contextual_grounding_policy_config=_grounding(spec),
        )
        self.version = bedrock.CfnGuardrailVersion(
            self,
            f"Version{spec.fingerprint()}",
            guardrail_identifier=self.guardrail.attr_guardrail_id,
            description=f"Policy {spec.fingerprint()}",
        )
        self.version.apply_removal_policy(RemovalPolicy.RETAIN)
        self.guardrail_arn: str = self.guardrail.attr_guardrail_arn
        self.guardrail_id: str = self.guardrail.attr_guardrail_id
        self.guardrail_version: str = self.version.attr_version
        # The form the bedrock:GuardrailIdentifier condition key takes: ARN and version.
        self.versioned_arn: str = f"{self.guardrail.attr_guardrail_arn}:{self.version.attr_version}"
        if enforce:
            self.enforced = bedrock.CfnEnforcedGuardrailConfiguration(
                self,
                "Enforced",
                guardrail_identifier=self.guardrail.attr_guardrail_id,
                guardrail_version=self.version.attr_version,
                model_enforcement=bedrock.CfnEnforcedGuardrailConfiguration.ModelEnforcementProperty(
                    included_models=["ALL"], excluded_models=list(unenforced_model_ids)
                ),
                selective_content_guarding=(
                    bedrock.CfnEnforcedGuardrailConfiguration.SelectiveContentGuardingProperty(
                        messages="COMPREHENSIVE", system="COMPREHENSIVE"
                    )
                ),
            )

    def grant_apply(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` check text against the guardrail (``ApplyGuardrail``) and decrypt
        it with its key through Bedrock."""
        return _grant_apply(grantee, self)

    @staticmethod
    def from_guardrail_attributes(
        scope: Construct,
        construct_id: str,
        *,
        guardrail_arn: str,
        version: str,
        encryption_key: kms.IKey | None = None,
    ) -> IGuardrail:
        """A guardrail published elsewhere (another stack, the central account): its ARN, the
        numeric version callers must name and, when known, the key it is encrypted with (its
        grants then include decrypting with it)."""
        return _ImportedGuardrail(
            scope,
            construct_id,
            guardrail_arn=guardrail_arn,
            version=version,
            encryption_key=encryption_key,
        )


def _grounding(
    spec: GuardrailSpec,
) -> bedrock.CfnGuardrail.ContextualGroundingPolicyConfigProperty | None:
    filters = [
        bedrock.CfnGuardrail.ContextualGroundingFilterConfigProperty(type=kind, threshold=value)
        for kind, value in (
            ("GROUNDING", spec.grounding_threshold),
            ("RELEVANCE", spec.relevance_threshold),
        )
        if value is not None
    ]
    if not filters:
        return None
    return bedrock.CfnGuardrail.ContextualGroundingPolicyConfigProperty(filters_config=filters)
