"""A state machine of the platform: named, its every transition logged with the key."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from genai_constructs.compliance import acknowledge, acknowledge_role_policy, ignore_cfn_lint


def logged_state_machine(
    scope: Construct,
    construct_id: str,
    *,
    name: str,
    definition: sfn.IChainable | sfn.DefinitionBody,
    timeout: Duration,
    encryption_key: kms.IKey,
    log_retention: logs.RetentionDays,
    log_group_id: str,
    steps: str,
    role: iam.IRole | None = None,
    express: bool = False,
) -> sfn.StateMachine:
    """A state machine named ``name`` (a generated name can exceed the 80 characters
    allowed), logging every transition to an encrypted log group ``log_group_id``;
    ``steps`` says what it does, for the acknowledgment that it has no X-Ray tracing; ``role``
    default a new one; ``express`` for a short, frequent check (billed by request, not by
    transition)."""
    log_group = logs.LogGroup(
        scope,
        log_group_id,
        encryption_key=encryption_key,
        retention=log_retention,
        removal_policy=RemovalPolicy.RETAIN,
    )
    machine = sfn.StateMachine(
        scope,
        construct_id,
        state_machine_name=name,
        definition_body=(
            definition
            if isinstance(definition, sfn.DefinitionBody)
            else sfn.DefinitionBody.from_chainable(definition)
        ),
        state_machine_type=sfn.StateMachineType.EXPRESS if express else None,
        timeout=timeout,
        logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL),
        role=role,
    )
    ignore_cfn_lint(
        machine.node.default_child,
        ["W3005"],
        "The CDK state machine construct adds DependsOn on its role beside the GetAtt so "
        "that the role's policy exists before the first execution.",
    )
    acknowledge(
        machine,
        "AwsSolutions-SF2",
        f"{steps}: every state transition is in the execution history and the ALL-level logs; "
        "X-Ray would trace nothing more.",
    )
    return machine


def start_on_schedule(
    scope: Construct,
    machine: sfn.IStateMachine,
    schedule: events.Schedule,
    *,
    role_description: str,
    rule_description: str,
    starts: str,
) -> events.Rule:
    """A rule ``Schedule`` that starts ``machine`` on ``schedule`` with an empty input, as a
    role ``ScheduleRole`` of its own (EventBridge of this account only) that may start that
    machine alone; ``starts`` says what, for the role's acknowledgment."""
    starter = iam.Role(
        scope,
        "ScheduleRole",
        description=role_description,
        assumed_by=iam.ServicePrincipal(
            "events.amazonaws.com",
            conditions={"StringEquals": {"aws:SourceAccount": Stack.of(scope).account}},
        ),
    )
    rule = events.Rule(
        scope,
        "Schedule",
        description=rule_description,
        schedule=schedule,
        targets=[
            targets.SfnStateMachine(
                machine, input=events.RuleTargetInput.from_object({}), role=starter
            )
        ],
    )
    acknowledge_role_policy(starter, f"start {starts}", [])
    return rule
