"""Checks of construct props that leave unresolved tokens to deploy time.

A value from a CfnParameter, an import or another resource is a token at synthesis: its real
value is unknown, so it is not judged here (CloudFormation or the service will).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Fn, Token, Tokenization


def check_range(owner: str, prop: str, value: float, low: float, high: float) -> None:
    """Refuse ``value`` outside [low, high]."""
    if _plain(value) and low <= value <= high:
        return
    if not Token.is_unresolved(value) and not low <= value <= high:
        raise ValueError(f"{owner}: {prop} must be {low}-{high} (got {value})")


def check_at_least(owner: str, prop: str, value: float, low: float) -> None:
    """Refuse ``value`` below ``low``."""
    if _plain(value) and value >= low:
        return
    if not Token.is_unresolved(value) and value < low:
        raise ValueError(f"{owner}: {prop} must be at least {low} (got {value})")


def _plain(value: object) -> bool:
    """Whether ``value`` is a Python number: one in range is never a token (an encoded number
    is about -1.9e289), and asking the jsii runtime whether it is one is a round trip."""
    return isinstance(value, (int, float))


def number_text(value: float) -> str:
    """``value`` as text for an environment variable or a property, tokens included."""
    return str(Tokenization.stringify_number(value))


@dataclass(frozen=True)
class ArnKind:
    """What an ARN prop must name: a service and the resource types it may be.

    :param noun: how a message names it, e.g. ``Bedrock model``.
    :param accountless_types: the resource types whose ARN names no account.
    :param regional: whether its ARN names a region (IAM's and Identity Center's do not).
    :param regionless_types: the resource types whose ARN may also name no region (a
        foundation model a global inference profile routes to).
    """

    noun: str
    service: str
    resource_types: tuple[str, ...]
    accountless_types: tuple[str, ...] = ()
    regional: bool = True
    regionless_types: tuple[str, ...] = ()

    @property
    def article(self) -> str:
        return "an" if self.noun[0] in "AEIOUaeiou" else "a"

    @property
    def example(self) -> str:
        """The form of its ARN, for a message."""
        region = "<region>" if self.regional else ""
        resource_type = self.resource_types[0]
        account = "" if resource_type in self.accountless_types else "<account>"
        return f"arn:<partition>:{self.service}:{region}:{account}:{resource_type}/<id>"


BEDROCK_MODEL = ArnKind(
    "Bedrock model",
    "bedrock",
    (
        "foundation-model",
        "inference-profile",
        "application-inference-profile",
        "custom-model",
        "custom-model-deployment",
        "imported-model",
        "provisioned-model",
        "prompt-router",
        "default-prompt-router",
    ),
    accountless_types=("foundation-model",),
    regionless_types=("foundation-model",),
)
APPLICATION_INFERENCE_PROFILE = ArnKind(
    "application inference profile", "bedrock", ("application-inference-profile",)
)
KNOWLEDGE_BASE = ArnKind("knowledge base", "bedrock", ("knowledge-base",))
IAM_ROLE = ArnKind("IAM role", "iam", ("role",), regional=False)
EVENT_BUS = ArnKind("EventBridge event bus", "events", ("event-bus",))
IDENTITY_CENTER_INSTANCE = ArnKind(
    "IAM Identity Center instance",
    "sso",
    ("instance",),
    accountless_types=("instance",),
    regional=False,
)
PERMISSION_SET = ArnKind(
    "IAM Identity Center permission set",
    "sso",
    ("permissionSet",),
    accountless_types=("permissionSet",),
    regional=False,
)

# arn:partition:service:region:account:type/id (or type:id). A region may be a wildcard in a
# policy's resource (a model in every region a profile routes to); the resource may not: these
# ARNs end up in ArnEquals and ArnLike conditions, where '*' and '?' match other resources.
_ARN = re.compile(
    r"arn:aws(-[a-z]+)*:(?P<service>[a-z0-9-]+):(?P<region>[a-z0-9-]*|\*):(?P<account>\d{12})?:"
    r"(?P<type>[A-Za-z-]+)[/:][\w+=,.@:/-]+"
)
_MODEL_ID = re.compile(r"[a-z0-9-]+\.[A-Za-z0-9._:-]+")
# The prefixes of system inference profiles: a model ID starting with one is a profile's ID.
PROFILE_PREFIXES = ("us", "us-gov", "eu", "apac", "jp", "au", "ca", "global")


def is_model_id(value: str) -> bool:
    """Whether ``value`` reads as a Bedrock model ID (``provider.model``, not an ARN)."""
    return bool(_MODEL_ID.fullmatch(value))


def is_profile_id(value: str) -> bool:
    """Whether ``value`` is a system inference profile's ID (``eu.provider.model``)."""
    return is_model_id(value) and value.split(".", 1)[0] in PROFILE_PREFIXES


def arn_account(arn: str) -> str:
    """The account an ARN names (a token's, as a CloudFormation expression)."""
    if Token.is_unresolved(arn):
        return str(Fn.select(4, Fn.split(":", arn)))
    return arn.split(":")[4]


def check_arn(owner: str, prop: str, value: str, kind: ArnKind) -> None:
    """Refuse ``value`` unless it is the ARN of a ``kind`` (a bare ID or name is not)."""
    if Token.is_unresolved(value):
        return
    match = _ARN.fullmatch(value)
    if (
        match
        and match["service"] == kind.service
        and match["type"] in kind.resource_types
        and (match["account"] is None) == (match["type"] in kind.accountless_types)
        and (
            bool(match["region"]) == kind.regional
            or (not match["region"] and match["type"] in kind.regionless_types)
        )
    ):
        return
    hint = ""
    if kind is BEDROCK_MODEL and is_model_id(value):
        hint = (
            f"; '{value}' is a model ID: a foundation model's ARN is "
            f"arn:<partition>:bedrock:<region>::foundation-model/{value}"
        )
    raise ValueError(
        f"{owner}: {prop} must be the ARN of {kind.article} {kind.noun} ({kind.example}; "
        f"resource types: {', '.join(kind.resource_types)}), got '{value}'{hint}"
    )


def check_arns(owner: str, prop: str, values: Sequence[str], kind: ArnKind) -> None:
    """``check_arn`` on each of ``values``."""
    for value in values:
        check_arn(owner, prop, value, kind)
