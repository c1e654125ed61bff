"""How people sign in: IAM Identity Center permission sets and the organization file's group
assignments (``organization.identity``), in the management account or the delegated
administrator of Identity Center."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import Duration, Stack
from constructs import Construct

from blueprint.model.workforce import BREAK_GLASS, SignIn
from genai_constructs.workforce import (
    GroupAssignment,
    GroupAssignments,
    PermissionSetSpec,
    WorkforceAccess,
)

# A stack holds at most 500 resources; the first also holds the permission sets.
ASSIGNMENTS_PER_STACK = 200
BREAK_GLASS_DESCRIPTION = (
    "Break glass: become the account's administrator outside the persona model"
)


def permission_sets(sign_ins: list[SignIn]) -> list[PermissionSetSpec]:
    """One per persona signed in as: the names of its roles."""
    personas = dict.fromkeys(sign_in.persona for sign_in in sign_ins)
    return [
        PermissionSetSpec(
            persona=persona,
            description=(
                BREAK_GLASS_DESCRIPTION
                if persona == BREAK_GLASS
                else f"Become the {persona} role of the account"
            ),
            role_names=tuple(
                dict.fromkeys(s.role_arn.split("/")[-1] for s in sign_ins if s.persona == persona)
            ),
        )
        for persona in personas
    ]


def assignments(sign_ins: list[SignIn]) -> list[GroupAssignment]:
    """One per group, persona and account (a central account holds several placements)."""
    return list(
        dict.fromkeys(
            GroupAssignment(group_id=s.group_id, persona=s.persona, account=s.account)
            for s in sign_ins
        )
    )


class WorkforceStack(Stack):
    """The permission sets, the user-name session tag and the first assignments."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        instance_arn: str,
        permission_sets: list[PermissionSetSpec],
        assignments: list[GroupAssignment],
        session_hours: int,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.access = WorkforceAccess(
            self,
            "Workforce",
            instance_arn=instance_arn,
            permission_sets=permission_sets,
            assignments=assignments,
            session=Duration.hours(session_hours),
        )


class WorkforceAssignmentsStack(Stack):
    """More assignments, with the permission sets of the first workforce stack."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        instance_arn: str,
        permission_set_arns: Mapping[str, str],
        assignments: list[GroupAssignment],
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        GroupAssignments(
            self,
            "Assignments",
            instance_arn=instance_arn,
            permission_set_arns=permission_set_arns,
            assignments=assignments,
        )
