"""The security stack's inputs: keys and log stores of one account."""

from __future__ import annotations

from dataclasses import dataclass

from blueprint.model import names
from blueprint.model.identity import Layer, PlacementKind
from blueprint.model.inputs.shared import shared_artifacts, shared_curated
from blueprint.model.plan import Placement, Plan


@dataclass(frozen=True)
class SecurityInputs:
    """Keys and log stores of one account.

    :param label: the placement key, named in key descriptions.
    :param retain: keep keys and log stores when the stack is deleted.
    :param invocation_log_stores: add the stores of Bedrock model invocation logs (LOB
        environments).
    :param s3_reader_arns: roles of other accounts that may decrypt the objects the data
        stack shares with them (prod's release role, in the LOB's nonprod registry).
    :param event_delivery: EventBridge may encrypt with the logs key (it queues the
        knowledge bases' ingestion requests).
    :param invocation_log_group_name: a fixed name for the invocation log group (a central
        account's, which the tenancies' roles are denied by name).
    """

    label: str
    retain: bool
    log_retention_days: int
    noncurrent_version_days: int
    invocation_log_stores: bool
    s3_reader_arns: tuple[str, ...] = ()
    event_delivery: bool = False
    invocation_log_group_name: str | None = None


def security_inputs(plan: Plan, placement: Placement) -> SecurityInputs:
    lob_environment = placement.lob is not None
    return SecurityInputs(
        label=placement.key,
        retain=placement.retain_stateful,
        log_retention_days=placement.log_retention_days,
        noncurrent_version_days=placement.protection.noncurrent_version_days,
        invocation_log_stores=placement.hosts(Layer.GENAI)
        and lob_environment
        and not placement.is_tenancy,
        s3_reader_arns=(
            tuple(
                sorted(
                    {
                        arn
                        for shares in (
                            shared_artifacts(plan, placement),
                            shared_curated(plan, placement),
                        )
                        for arns in shares.values()
                        for arn in arns
                    }
                )
            )
            if lob_environment
            else ()
        ),
        event_delivery=bool(plan.knowledge_bases(placement)) if lob_environment else False,
        invocation_log_group_name=(
            names.central_invocation_log_group(placement.key)
            if placement.kind is PlacementKind.CENTRAL
            else None
        ),
    )
