"""The personas: one record each, read by the plan (where a persona exists), the foundation
stack (its role, managed policies and jobs), the workforce stack (its permission set), the
organization file's validation and the access catalog.

Adding a persona (docs/platform-engineers.md "Adding a persona") touches its record, appended
to ``PERSONAS``, a job policy in ``stacks/persona_access.py`` where none of the existing jobs
fits, and its catalog entries; the role, its trust (its permission set's sign-in role), the
boundary, the guard, the permission set and the group assignments follow from the record.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from blueprint.model.fields import EnvironmentName
from blueprint.model.identity import PlacementKind

# The platform's own accounts: where people of the platform team sign in.
PLATFORM_KINDS = frozenset(
    {PlacementKind.GOVERNANCE, PlacementKind.TOOLING, PlacementKind.HUB, PlacementKind.CENTRAL}
)
LOB_KINDS = frozenset({PlacementKind.LOB_ENVIRONMENT})


class Job(StrEnum):
    """Work a persona exists for, beyond its AWS managed policies: each is one customer
    managed policy of ``stacks/persona_access.py`` (``JOB_POLICIES``)."""

    # Open one's own Studio profile and private spaces, run training and processing jobs.
    STUDIO = "studio"
    # Start and watch the LOB's fine-tuning pipelines (never in prod).
    PIPELINES = "pipelines"
    # Approve or reject the account's model packages (in a tenancy: its own groups only).
    MODEL_APPROVALS = "model-approvals"
    # Read the platform's configuration: guardrails, logging settings, policies.
    CONFIGURATION_READS = "configuration-reads"
    # Read a prod release's diff and approve or reject it in the delivery pipeline.
    RELEASE_APPROVALS = "release-approvals"
    # Start the environment's ETL, follow its runs, read its quality results and tables.
    ETL = "etl"
    # Put the keys of the agents' API tools into the secrets their gateway reads.
    TOOL_KEYS = "tool-keys"


@dataclass(frozen=True)
class Persona:
    """One kind of person of the platform, and everything the platform derives from it.

    :param name: the role is ``<prefix>-<name>``, the permission set ``genai-<name>``.
    :param managed_policies: AWS managed policies of the role (under the boundary).
    :param placed_in: the kinds of account the persona has a role in.
    :param environments: in LOB accounts, the environments it exists in (empty: each one).
    :param works_for_lob: the LOB's own people: they enter the LOB's tenancy of a central
        account from the LOB's own account, and may call its models outside prod.
    :param kept_from_lob_data: denied LOB data, its key and models in LOB accounts.
    :param trusted_services: services that run as the role for the person (Studio's apps).
    :param centrally_audited: the governance account's role of this persona may become it in
        every other account (the central audit), unless the model is decentralized.
    :param jobs: its job policies.
    """

    name: str
    description: str
    managed_policies: tuple[str, ...]
    placed_in: frozenset[PlacementKind]
    environments: frozenset[EnvironmentName] = frozenset()
    works_for_lob: bool = False
    kept_from_lob_data: bool = False
    trusted_services: tuple[str, ...] = ()
    centrally_audited: bool = False
    jobs: tuple[Job, ...] = ()

    def __str__(self) -> str:
        return self.name

    def exists_in(self, kind: PlacementKind, environment: EnvironmentName | None) -> bool:
        if kind not in self.placed_in:
            return False
        if kind is PlacementKind.LOB_ENVIRONMENT and self.environments:
            return environment in self.environments
        return True

    @property
    def in_lob_accounts(self) -> bool:
        return bool(self.placed_in & LOB_KINDS)

    @property
    def in_platform_accounts(self) -> bool:
        return bool(self.placed_in & PLATFORM_KINDS)


PLATFORM_ADMIN = Persona(
    name="platform-admin",
    description="Operates the account's platform resources",
    managed_policies=("PowerUserAccess", "IAMReadOnlyAccess"),
    placed_in=LOB_KINDS | PLATFORM_KINDS,
    kept_from_lob_data=True,
)
DATA_SCIENTIST = Persona(
    name="data-scientist",
    description="Explores sampled data and models in the interactive environment",
    managed_policies=("job-function/ViewOnlyAccess",),
    placed_in=LOB_KINDS,
    environments=frozenset({EnvironmentName.INTERACTIVE}),
    works_for_lob=True,
    trusted_services=("sagemaker.amazonaws.com",),
    jobs=(Job.STUDIO,),
)
ML_ENGINEER = Persona(
    name="ml-engineer",
    description="Builds and operates pipelines, models and endpoints",
    managed_policies=("job-function/ViewOnlyAccess",),
    placed_in=LOB_KINDS,
    works_for_lob=True,
    jobs=(Job.PIPELINES, Job.MODEL_APPROVALS, Job.TOOL_KEYS),
)
AUDITOR = Persona(
    name="auditor",
    description="Reads configuration and logs; no access to LOB data",
    managed_policies=("SecurityAudit", "job-function/ViewOnlyAccess"),
    placed_in=LOB_KINDS | PLATFORM_KINDS,
    kept_from_lob_data=True,
    centrally_audited=True,
    jobs=(Job.CONFIGURATION_READS,),
)
RELEASE_APPROVER = Persona(
    name="release-approver",
    description="Reads a prod release's diff and approves or rejects it",
    managed_policies=("job-function/ViewOnlyAccess",),
    placed_in=frozenset({PlacementKind.TOOLING}),
    jobs=(Job.RELEASE_APPROVALS,),
)
DATA_ENGINEER = Persona(
    name="data-engineer",
    description="Lands source data and runs the ETL into the curated zone",
    managed_policies=("job-function/ViewOnlyAccess",),
    placed_in=LOB_KINDS,
    jobs=(Job.ETL,),
)

# In this order in every account (it decides the order of the roles in the templates).
PERSONAS: list[Persona] = [
    PLATFORM_ADMIN,
    DATA_SCIENTIST,
    ML_ENGINEER,
    AUDITOR,
    RELEASE_APPROVER,
    DATA_ENGINEER,
]


def personas_in(kind: PlacementKind, environment: EnvironmentName | None) -> tuple[Persona, ...]:
    """The personas with a role in an account of ``kind`` (and ``environment``)."""
    return tuple(p for p in PERSONAS if p.exists_in(kind, environment))


def persona_named(name: str) -> Persona:
    """The persona called ``name``; KeyError when there is none (validation refuses it first)."""
    for persona in PERSONAS:
        if persona.name == name:
            return persona
    raise KeyError(name)


def persona_names() -> list[str]:
    return [persona.name for persona in PERSONAS]
