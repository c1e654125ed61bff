"""The organization section: the AWS organization, its operating model, and how people
sign in (IAM Identity Center groups and the personas they become)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, Field, StrictBool

from blueprint.model.fields import EnvironmentName, Model, matching
from blueprint.model.sections.values import UNIQUE_ITEMS, AccountId, Region, Slug, unique
from genai_constructs.naming import ORGANIZATION_ID, ORGANIZATION_ROOT_ID


class OperatingModel(StrEnum):
    """Who runs what (the reference guide's three operating models).

    federated: the central team governs (catalog, guardrail policy, audit view) and each LOB
    runs its GenAI and ML workloads on its own data in its own accounts.
    centralized: a central GenAI account per environment kind runs every LOB's GenAI and ML
    workloads, one isolated tenancy per LOB; LOB accounts keep their data lakes.
    decentralized: each LOB runs everything in its own accounts with its own model catalog
    and guardrail (within the organization's); central governance is only the organization's
    policies and the log archive.
    """

    FEDERATED = "federated"
    CENTRALIZED = "centralized"
    DECENTRALIZED = "decentralized"


class OrganizationConfig(Model):
    name: Slug
    """Prefix of persona role and boundary names."""
    id: Annotated[
        str,
        matching(
            ORGANIZATION_ID.pattern,
            "an AWS Organizations id, o- and 10-32 lower-case letters or digits",
        ),
    ]
    """The AWS Organizations organization."""
    root_id: Annotated[
        str,
        matching(
            ORGANIZATION_ROOT_ID.pattern,
            "an organization root id, r- and 4-32 lower-case letters or digits",
        ),
    ]
    """The organization's root, where the organization policies attach."""
    management_account: AccountId
    """The AWS Organizations management account."""
    home_region: Region
    """Region of the platform accounts; one of allowed_regions (validate checks)."""
    allowed_regions: Annotated[
        list[Region], Field(min_length=1), AfterValidator(unique), UNIQUE_ITEMS
    ]
    """Regions any environment may use, each once; the organization policies deny the others."""
    operating_model: OperatingModel = OperatingModel.FEDERATED
    """Who runs what: federated (the central team governs, each LOB runs its workloads in its own
    accounts), centralized (central GenAI accounts run every LOB's workloads, one tenancy per
    LOB) or decentralized (each LOB runs everything with its own catalog and guardrail within
    the organization's). Centralized needs a central account for each environment kind the LOBs
    have."""
    identity: IdentityConfig | None = None
    """IAM Identity Center: how people sign in (docs: Workforce identity)."""
    agent_identity_providers: Annotated[
        list[
            Annotated[
                str,
                matching(
                    r"^https://[^\s/]+(/[^\s]*)?/\.well-known/openid-configuration$",
                    "an OpenID discovery URL, https://.../.well-known/openid-configuration",
                ),
            ]
        ],
        Field(max_length=10),
        AfterValidator(unique),
        UNIQUE_ITEMS,
    ] = []
    """The identity providers an agent gateway may accept tokens from (their discovery URLs);
    the organization policies deny gateways with any other, and with none listed, every gateway
    authenticates callers with IAM."""


GroupName = Annotated[
    str,
    matching(
        r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$",
        "a group name of the identity source: letters, digits and ._- (at most 128)",
    ),
]


class Assignment(Model):
    """Members of ``group`` become ``persona`` in the accounts selected: the environments of
    ``lobs`` (``environments``, default each one where the persona exists) and, with
    ``platform: true``, the platform's own accounts (governance, tooling, hub, central)."""

    group: GroupName
    """A group declared under groups."""
    # One of the persona records (blueprint/model/personas.py); validation names them.
    persona: Slug
    """A persona of the platform, where it exists (validate names them)."""
    lobs: Annotated[list[Slug], AfterValidator(unique), UNIQUE_ITEMS] = []
    """LOBs of this file whose environments the group signs in to."""
    environments: Annotated[list[EnvironmentName], AfterValidator(unique), UNIQUE_ITEMS] = []
    """Which of those LOBs' environments; default each one where the persona exists."""
    platform: StrictBool = False
    """Also the platform's own accounts (governance, tooling, hub, central)."""


class BreakGlass(Model):
    """The group whose members may take the break-glass role of every account (an
    administrator outside the persona model; every use raises an alarm)."""

    group: GroupName
    """A group declared under groups."""


class IdentityConfig(Model):
    """IAM Identity Center: how people sign in (docs: Workforce identity)."""

    instance_arn: Annotated[
        str,
        matching(
            r"^arn:aws[a-z-]*:sso:::instance/ssoins-[a-f0-9]{16}$",
            "an Identity Center instance ARN, arn:aws:sso:::instance/ssoins-<16 hex>",
        ),
    ]
    """The Identity Center instance."""
    identity_store_id: Annotated[
        str, matching(r"^d-[0-9a-f]{10}$", "an identity store ID, d-<10 hex>")
    ]
    """The instance's identity store."""
    admin_account: AccountId | None = None
    """Where permission sets and assignments are deployed: the management account (default) or the
    delegated administrator of Identity Center."""
    groups: Annotated[
        dict[
            GroupName,
            Annotated[
                str,
                matching(
                    r"^([0-9a-f]{10}-)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
                    "a group ID of the identity store (a UUID, optionally after <10 hex>-)",
                ),
            ],
        ],
        Field(min_length=1),
    ]
    """The groups of the identity source, by name: each group's ID in the store, each ID once."""
    assignments: Annotated[list[Assignment], Field(min_length=1)]
    """Which group becomes which persona where; each assignment selects at least one account."""
    break_glass: BreakGlass | None = None
    """The group that may take the break-glass role of every account."""
    session_hours: Annotated[int, Field(ge=1, le=12)] = 1
    """How long a sign-in session lasts."""
