"""How people get in: IAM Identity Center permission sets and group assignments, and the
break-glass role of an account.

A permission set allows one thing, assuming its persona's role (whose trust admits only that
permission set's sign-in role), and tagging that session with who signed in. The persona's
policies stay on the role, under the account's permissions boundary: a permission set cannot
carry a boundary of the account's own, and one role per account keeps what the catalog proves
the same however people arrive (Identity Center, a SAML provider, the central auditor).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aws_cdk import Aws, Duration, Tags, Token
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sso as sso
from constructs import Construct

from genai_constructs.compliance import acknowledge, acknowledge_scoped_policy
from genai_constructs.identity.trust import sign_in_principal
from genai_constructs.naming import (
    OUTSIDE_BOUNDARY_TAG,
    USER_TAG,
    pascal,
    permission_set_name,
    persona_role_name,
    sign_in_role_patterns,
)
from genai_constructs.principals import own_account_service
from genai_constructs.validation import IDENTITY_CENTER_INSTANCE, PERMISSION_SET, check_arn

BREAK_GLASS = "break-glass"
# The rule state under which EventBridge delivers CloudTrail's read-only management events.
READ_ONLY_EVENTS_TOO = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
ACCOUNT = re.compile(r"^\d{12}$")
# Identity Center's attribute for access control: the user name becomes the session tag.
USER_NAME_SOURCE = "${path:userName}"


@dataclass(frozen=True)
class PermissionSetSpec:
    """A persona's permission set: the names of the roles its sign-in role may assume (in
    its own account: each role trusts only its own account's sign-in role, and naming the
    roles rather than each ARN keeps the policy the same size for any number of accounts)."""

    persona: str
    description: str
    role_names: tuple[str, ...]


@dataclass(frozen=True)
class GroupAssignment:
    """Members of the group ``group_id`` sign in to ``account`` with ``persona``'s set."""

    group_id: str
    persona: str
    account: str


class WorkforceAccess(Construct):
    """Permission sets, their group assignments and the user-name session tag of one IAM
    Identity Center instance (deployed in the management account or the delegated
    administrator).

    :param instance_arn: the Identity Center instance.
    :param permission_sets: one per persona people sign in as.
    :param assignments: which group gets which persona's set in which account (more go in
        ``GroupAssignments`` of other stacks: a stack holds at most 500 resources).
    :param session: default one hour.
    :param tag_user_name: default ``True``; configure the instance's attributes for access
        control so every session carries ``USER_TAG`` (the user name). An instance has one
        such configuration: ``False`` where the organization manages it elsewhere (it must
        then pass ``USER_TAG`` itself).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        instance_arn: str,
        permission_sets: Sequence[PermissionSetSpec],
        assignments: Sequence[GroupAssignment],
        session: Duration | None = None,
        tag_user_name: bool = True,
    ) -> None:
        super().__init__(scope, construct_id)
        check_arn("WorkforceAccess", "instance_arn", instance_arn, IDENTITY_CENTER_INSTANCE)
        by_persona = {spec.persona: spec for spec in permission_sets}
        if len(by_persona) != len(permission_sets):
            raise ValueError("WorkforceAccess: one permission set per persona")
        duration = (session or Duration.hours(1)).to_iso_string()
        self.permission_sets = {
            spec.persona: sso.CfnPermissionSet(
                self,
                pascal(spec.persona),
                instance_arn=instance_arn,
                name=permission_set_name(spec.persona),
                description=spec.description[:700],
                session_duration=duration,
                inline_policy=_door_policy(spec.role_names),
            )
            for spec in permission_sets
        }
        self.assignments = GroupAssignments(
            self,
            "Assignments",
            instance_arn=instance_arn,
            permission_set_arns={
                persona: permission_set.attr_permission_set_arn
                for persona, permission_set in self.permission_sets.items()
            },
            assignments=assignments,
        )
        if tag_user_name:
            sso.CfnInstanceAccessControlAttributeConfiguration(
                self,
                "UserNameTag",
                instance_arn=instance_arn,
                access_control_attributes=[
                    sso.CfnInstanceAccessControlAttributeConfiguration.AccessControlAttributeProperty(
                        key=USER_TAG,
                        value=sso.CfnInstanceAccessControlAttributeConfiguration.AccessControlAttributeValueProperty(
                            source=[USER_NAME_SOURCE]
                        ),
                    )
                ],
            )


class GroupAssignments(Construct):
    """Assignments of groups to accounts, each with its persona's permission set.

    :param permission_set_arns: each persona's permission set (``WorkforceAccess``).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        instance_arn: str,
        permission_set_arns: Mapping[str, str],
        assignments: Sequence[GroupAssignment],
    ) -> None:
        super().__init__(scope, construct_id)
        check_arn("GroupAssignments", "instance_arn", instance_arn, IDENTITY_CENTER_INSTANCE)
        for persona, arn in permission_set_arns.items():
            check_arn(
                "GroupAssignments",
                f"the permission set ARN of persona '{persona}'",
                arn,
                PERMISSION_SET,
            )
        for assignment in assignments:
            if assignment.persona not in permission_set_arns:
                raise ValueError(
                    f"GroupAssignments: an assignment names the persona '{assignment.persona}' "
                    f"without a permission set; allowed: {', '.join(sorted(permission_set_arns))}"
                )
            if not Token.is_unresolved(assignment.account) and not ACCOUNT.match(
                assignment.account
            ):
                raise ValueError(
                    f"GroupAssignments: '{assignment.account}' is not an account ID (12 digits)"
                )
        self.assignments = [
            sso.CfnAssignment(
                self,
                f"{pascal(assignment.persona)}{assignment.account}{assignment.group_id[-12:]}",
                instance_arn=instance_arn,
                permission_set_arn=permission_set_arns[assignment.persona],
                principal_type="GROUP",
                principal_id=assignment.group_id,
                target_type="AWS_ACCOUNT",
                target_id=assignment.account,
            )
            for assignment in assignments
        ]


def _door_policy(role_names: Sequence[str]) -> dict[str, object]:
    """Assume the persona's roles and carry the user name into them; nothing else."""
    role_arns = [f"arn:{Aws.PARTITION}:iam::*:role/{name}" for name in role_names]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "BecomeThePersona",
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Resource": sorted(role_arns),
            },
            {
                "Sid": "CarryWhoSignedIn",
                "Effect": "Allow",
                "Action": "sts:TagSession",
                "Resource": sorted(role_arns),
                "Condition": {
                    "StringEquals": {
                        f"aws:RequestTag/{USER_TAG}": f"${{aws:PrincipalTag/{USER_TAG}}}"
                    },
                    "ForAllValues:StringEquals": {"aws:TagKeys": [USER_TAG]},
                },
            },
        ],
    }


class BreakGlassRole(Construct):
    """An administrator of the account outside the persona model, for when the platform's own
    roles cannot repair it: only the break-glass permission set's sign-in role may assume it,
    and every assumption raises an alarm (an EventBridge rule on CloudTrail's ``AssumeRole``
    event, to an encrypted topic). The trust admits the stack's region only: EventBridge sees
    the CloudTrail events of its own region.

    :param prefix: the platform's name prefix; the role is ``{prefix}-break-glass``.
    :param max_session: default one hour.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        prefix: str,
        max_session: Duration | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        patterns = sign_in_role_patterns(
            Aws.PARTITION, Aws.ACCOUNT_ID, permission_set_name(BREAK_GLASS)
        )
        self.role = iam.Role(
            self,
            "Role",
            role_name=persona_role_name(prefix, BREAK_GLASS),
            description="Break glass: administrator outside the persona model; every use alarms",
            # Only through this region's STS endpoint, where CloudTrail hands the event to
            # the alarm's rule: an assumption the rule could not see is refused.
            assumed_by=sign_in_principal(Aws.ACCOUNT_ID, patterns).with_conditions(
                {"StringEquals": {"aws:RequestedRegion": Aws.REGION}}
            ),
            max_session_duration=max_session or Duration.hours(1),
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name("AdministratorAccess")
            ],
        )
        acknowledge(
            self.role,
            [
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AdministratorAccess]",
                "GenAIPlatform-RoleBoundary",
            ],
            "Break glass is the one administrator outside the persona model and its boundary, "
            "for repairs the platform's roles cannot make; only the break-glass group signs in "
            "to it, and every use raises an alarm.",
        )
        key = kms.Key(
            self,
            "AlarmKey",
            enable_key_rotation=True,
            description="Encrypts the break-glass alarm topic",
        )
        self.alarm_topic = sns.Topic(
            self, "Alarm", display_name="Break-glass role assumed", master_key=key, enforce_ssl=True
        )
        # EventBridge publishes through a role of its own (held to this account), not a grant
        # of the key to the service; outside the boundary, which has no SNS.
        self.alarm_publisher = iam.Role(
            self,
            "AlarmPublisher",
            description="EventBridge: announces that the break-glass role was assumed",
            assumed_by=own_account_service(self, "events.amazonaws.com"),
        )
        key.grant_encrypt_decrypt(self.alarm_publisher)
        acknowledge(
            self.alarm_publisher,
            "GenAIPlatform-RoleBoundary",
            "Publishes the break-glass alarm to its topic and nothing else; the platform's "
            "boundary does not allow SNS.",
        )
        self.rule = events.Rule(
            self,
            "Assumed",
            description="Alarm: someone assumed the break-glass role",
            event_pattern=events.EventPattern(
                source=["aws.sts"],
                detail_type=["AWS API Call via CloudTrail"],
                detail={
                    "eventName": ["AssumeRole"],
                    "requestParameters": {"roleArn": [self.role.role_arn]},
                },
            ),
            targets=[
                targets.SnsTopic(
                    self.alarm_topic, authorize_using_role=True, role=self.alarm_publisher
                )
            ],
        )
        # CloudTrail marks AssumeRole read-only: a rule in the plain ENABLED state never sees it.
        rule = self.rule.node.default_child
        assert isinstance(rule, events.CfnRule)
        rule.add_property_override("State", READ_ONLY_EVENTS_TOO)
        acknowledge_scoped_policy(self.alarm_publisher, "the break-glass alarm topic and its key")
        for role in (self.role, self.alarm_publisher):
            Tags.of(role).add(*OUTSIDE_BOUNDARY_TAG)
