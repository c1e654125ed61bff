"""The catalog's resource selectors (``resource:``): what is asked for, in the environment's
account unless the kind says otherwise. One function per kind, its docstring the grammar's
entry; the ML and GenAI layers' kinds are in ``ml_resources`` and ``rag_resources``, and
every other kind the
platform marks (``blueprint.model.assets.AssetKind``) selects the resources marked so."""

from __future__ import annotations

from blueprint.assembly.access.agent_resources import AGENT_RESOURCES
from blueprint.assembly.access.chains import stack_arn
from blueprint.assembly.access.ml_resources import MARKED, ML_RESOURCES, ResourceResolver
from blueprint.assembly.access.rag_resources import RAG_RESOURCES
from blueprint.assembly.access.registry import OWN, Registry
from blueprint.assembly.access.selection import PROBE_FILE, PROBE_KEY, Actor, Selection, Target
from blueprint.assembly.access.symbols import Symbol, text
from blueprint.model import names
from blueprint.model.assets import DESCRIPTIONS, AssetKind
from blueprint.model.rollout import approval_actions, plan_rollout
from genai_constructs.naming import dataset_prefix, staged_prefix

RESOURCES: Registry[ResourceResolver] = Registry("resource")
RESOURCES.include(ML_RESOURCES)
RESOURCES.include(RAG_RESOURCES)
RESOURCES.include(AGENT_RESOURCES)
resource = RESOURCES.kind

# The zone of Bedrock's invocation logs: in a tenancy, its central account's.
INVOCATION_LOGS_ZONE = "invocation-logs"


def targets(selection: Selection, selector: str, actor: Actor | None = None) -> list[Target]:
    """What ``selector`` names in ``selection`` (``own``: ``actor``'s); refused when it is no
    resource selector."""
    resolve, argument = RESOURCES.lookup(selector)
    return resolve(selection, argument, actor)


def _in(selection: Selection | None, selector: str, actor: Actor | None) -> list[Target]:
    return targets(selection, selector, actor) if selection else []


# --- elsewhere ---------------------------------------------------------------------------


@resource("other-lob", "<resource>")
def _other_lob(selection: Selection, selector: str, actor: Actor | None) -> list[Target]:
    """That resource of the nearest other LOB environment of the same kind, hosted alike,
    that has one (another LOB without it would leave the attack asking nothing)."""
    for other in selection.other_lobs():
        if found := targets(other, selector, actor):
            return found
    return []


@resource("hub", "<resource>")
def _hub(selection: Selection, selector: str, actor: Actor | None) -> list[Target]:
    """That resource of the hub account (only where the organization has a hub)."""
    return _in(selection.hub(), selector, actor)


@resource("central", "<resource>")
def _central(selection: Selection, selector: str, actor: Actor | None) -> list[Target]:
    """In a tenancy, that resource of its central account's central placement."""
    return _in(selection.central(), selector, actor)


@resource("tooling", "<resource>")
def _tooling(selection: Selection, selector: str, actor: Actor | None) -> list[Target]:
    """That resource of the platform's tooling account."""
    return targets(selection.tooling(), selector, actor)


@resource("governance", "<resource>")
def _governance(selection: Selection, selector: str, actor: Actor | None) -> list[Target]:
    """That resource of the platform's governance account."""
    return targets(selection.governance(), selector, actor)


@resource("hub-consumer-role")
def _hub_consumer_role(selection: Selection, argument: str, actor: Actor | None) -> list[Target]:
    """The hub's application role of this environment's LOB."""
    hub, lob = selection.hub(), selection.placement.lob
    return targets(hub, f"{AssetKind.APP_ROLE}/{lob.name}") if hub and lob else []


def _account_logging(kind: AssetKind) -> ResourceResolver:
    """What Bedrock keeps once per account and region: a tenancy's are its central
    account's, which the tenancy's roles must not read or change either."""

    def resolve(selection: Selection, name: str, actor: Actor | None) -> list[Target]:
        if selection.placement.is_tenancy:
            return _in(selection.central(), f"{kind}/{name}" if name else kind, actor)
        return selection.marked(kind, name)

    return resolve


for _kind in (AssetKind.INVOCATION_LOGS, AssetKind.LOGGING_ROLE, AssetKind.LOGGING_FUNCTION):
    RESOURCES.add(
        _kind,
        MARKED,
        _account_logging(_kind),
        f"{DESCRIPTIONS[_kind]}: each, or the one named; in a tenancy, its "
        "central account's (Bedrock keeps one logging configuration per account and region).",
    )


# --- data --------------------------------------------------------------------------------


@resource(AssetKind.ZONE, "*", "<zone>")
def _zones(selection: Selection, zone: str, actor: Actor | None) -> list[Target]:
    """A zone bucket: each, or the one named (`raw`, `curated`, `training`, `artifacts`;
    `invocation-logs`: in a tenancy, its central account's)."""
    if zone == INVOCATION_LOGS_ZONE and selection.placement.is_tenancy:
        return _in(selection.central(), f"zone/{zone}", actor)
    account = selection.placement.account
    return [
        Target(f"zone/{zone}", selection.arn(asset), account)
        for asset in selection.assets(AssetKind.ZONE, zone)
    ]


@resource("object", "*", "<zone>")
def _zone_objects(selection: Selection, zone: str, actor: Actor | None) -> list[Target]:
    """An object under `catalog-probe/` of the zone bucket named, or of each (for
    `invocation-logs`, in a tenancy: its central account's)."""
    if zone == INVOCATION_LOGS_ZONE and selection.placement.is_tenancy:
        return _in(selection.central(), f"object/{zone}", actor)
    return selection.objects(zone, PROBE_KEY, f"object/{zone}")


@resource("dataset-object", "raw", "staged", "curated")
def _dataset_objects(selection: Selection, which: str, actor: Actor | None) -> list[Target]:
    """An object of the LOB's first dataset: under `datasets/<name>/` of the raw zone (as
    landed), under `staging/datasets/<name>/` of the curated zone (as the ETL stages it), or
    under `datasets/<name>/` of the curated zone (as it publishes it)."""
    lob = selection.placement.lob
    prefix = staged_prefix if which == "staged" else dataset_prefix
    zone = "raw" if which == "raw" else "curated"
    return [
        target
        for dataset in (lob.data.datasets[:1] if lob else [])
        for target in selection.objects(
            zone, f"{prefix(dataset.name)}{PROBE_FILE}", f"dataset-object/{which}/{dataset.name}"
        )
    ]


@resource("bias-probes", OWN, "*")
def _bias_probes(selection: Selection, which: str, actor: Actor | None) -> list[Target]:
    """An object of a fine-tuning pipeline's bias probe dataset (under `datasets/<name>/` of
    the curated zone): `own` the asking pipeline's, `*` every pipeline's."""
    lob = selection.placement.lob
    serves = None if which == "*" else (actor.serves if actor else "")
    return [
        target
        for tuning in (lob.ml.fine_tuning if lob else [])
        if tuning.bias_probes_prefix and serves in (None, tuning.name)
        for target in selection.objects(
            "curated", f"{tuning.bias_probes_prefix}{PROBE_FILE}", f"bias-probes/{tuning.name}"
        )
    ]


@resource(AssetKind.TOPIC, *MARKED, OWN, "other")
def _topics(selection: Selection, name: str, actor: Actor | None) -> list[Target]:
    """A notification topic: each, or the one named; `own` the one the asking notifier
    announces on (the topic its event rule targets through it), `other` each but that one."""
    if name not in (OWN, "other"):
        return selection.marked(AssetKind.TOPIC, name)
    announced = _announced_topics(selection, actor)
    return [
        selection.target(topic)
        for topic in selection.assets(AssetKind.TOPIC, "*")
        if ((topic.stack.name, topic.logical_id) in announced) == (name == OWN)
    ]


def _announced_topics(selection: Selection, actor: Actor | None) -> set[tuple[str, str]]:
    """(stack, logical ID) of each topic an event rule of the notifier's stack targets with
    the notifier's role."""
    serves = actor.serves if actor else None
    notifiers = selection.assets(AssetKind.NOTIFIER_ROLE, serves) if serves else []
    return {
        (notifier.stack.name, target["Arn"]["Ref"])
        for notifier in notifiers
        for resource in notifier.stack.resources.values()
        if resource["Type"] == "AWS::Events::Rule"
        for target in resource["Properties"].get("Targets", [])
        if target.get("RoleArn") == {"Fn::GetAtt": [notifier.logical_id, "Arn"]}
        and isinstance(target.get("Arn"), dict)
        and "Ref" in target["Arn"]
    }


def _etl_run(selection: Selection, what: str, suffix: str, label: str) -> list[Target]:
    region, account = selection.placement.region, selection.placement.account
    return [
        Target(
            label,
            Symbol.of(
                f"arn:aws:states:{region}:{account}:{what}:",
                selection.world.resolver.name(asset.stack, asset.logical_id),
                suffix,
            ),
            account,
        )
        for asset in selection.assets(AssetKind.ETL, "etl")
    ]


@resource("etl-execution")
def _etl_execution(selection: Selection, argument: str, actor: Actor | None) -> list[Target]:
    """A run of the environment's ETL state machine."""
    return _etl_run(selection, "execution", ":catalog-probe", "etl-execution")


@resource("etl-version")
def _etl_version(selection: Selection, argument: str, actor: Actor | None) -> list[Target]:
    """Version 1 of the environment's ETL state machine."""
    return _etl_run(selection, "stateMachine", ":1", "etl-version")


# --- the account -------------------------------------------------------------------------


def _arn(selection: Selection, label: str, arn: str) -> list[Target]:
    return [Target(label, text(arn), selection.placement.account)]


@resource("any")
def _any(selection: Selection, argument: str, actor: Actor | None) -> list[Target]:
    """The resource `*`."""
    return [Target("*", text("*"), None)]


@resource("role", "ingestion", "<persona>")
def _role(selection: Selection, which: str, actor: Actor | None) -> list[Target]:
    """The role of the persona named, or (`role/ingestion`) the ingestion role."""
    if which == "ingestion":
        return [
            Target("role/ingestion", selection.arn(asset), selection.placement.account)
            for asset in selection.assets(AssetKind.INGESTION_ROLE, "*")
        ]
    placement = selection.placement
    arn = names.role_arn(placement.account, names.role_name(placement.prefix, which))
    return _arn(selection, f"role/{which}", arn)


@resource("stack", "*")
def _stacks(selection: Selection, argument: str, actor: Actor | None) -> list[Target]:
    """Each CloudFormation stack of the environment."""
    return [
        Target(f"stack/{stack.name}", text(stack_arn(stack)), stack.account)
        for stack in selection.stacks()
    ]


@resource("function", "*")
def _functions(selection: Selection, argument: str, actor: Actor | None) -> list[Target]:
    """Each Lambda function of the environment's stacks."""
    return [
        Target(
            f"function/{stack.name}/{logical_id}",
            selection.resource(stack, logical_id),
            selection.placement.account,
        )
        for stack in selection.stacks()
        for logical_id, resource in stack.resources.items()
        if resource.get("Type") == "AWS::Lambda::Function"
    ]


@resource("deployment-assets")
def _deployment_assets(selection: Selection, argument: str, actor: Actor | None) -> list[Target]:
    """An object of the account's CDK staging bucket (what the execution role deploys)."""
    bucket = names.asset_bucket_name(selection.placement.account, selection.placement.region)
    return _arn(selection, "deployment-assets", f"arn:aws:s3:::{bucket}/{PROBE_FILE}")


@resource("release-approval", "*")
def _release_approvals(selection: Selection, argument: str, actor: Actor | None) -> list[Target]:
    """The manual approval of each prod wave of the delivery pipelines (asked as
    `tooling/release-approval/*`)."""
    region, account = selection.placement.region, selection.placement.account
    return [
        Target(
            f"release-approval/{action}",
            text(f"arn:aws:codepipeline:{region}:{account}:{action}"),
            account,
        )
        for action in selection.plan.remembered(
            "release-approvals", lambda: approval_actions(plan_rollout(selection.plan))
        )
    ]


@resource("network-interface")
def _network_interfaces(selection: Selection, argument: str, actor: Actor | None) -> list[Target]:
    """The account's network interfaces."""
    region, account = selection.placement.region, selection.placement.account
    arn = f"arn:aws:ec2:{region}:{account}:network-interface/*"
    return _arn(selection, "network-interface", arn)


@resource("job-logs")
def _job_logs(selection: Selection, argument: str, actor: Actor | None) -> list[Target]:
    """A log stream of `/aws/sagemaker/TrainingJobs`."""
    region, account = selection.placement.region, selection.placement.account
    arn = (
        f"arn:aws:logs:{region}:{account}:log-group:/aws/sagemaker/TrainingJobs:"
        "log-stream:catalog-probe/algo-1"
    )
    return _arn(selection, "job-logs", arn)


def _job(kind: str) -> ResourceResolver:
    def resolve(selection: Selection, argument: str, actor: Actor | None) -> list[Target]:
        region, account = selection.placement.region, selection.placement.account
        return _arn(selection, kind, f"arn:aws:sagemaker:{region}:{account}:{kind}/catalog-probe")

    return resolve


RESOURCES.add("training-job", (), _job("training-job"), "A SageMaker training job.")
RESOURCES.add("processing-job", (), _job("processing-job"), "A SageMaker processing job.")


# --- every other kind the platform marks --------------------------------------------------


def _marked(kind: AssetKind) -> ResourceResolver:
    def resolve(selection: Selection, name: str, actor: Actor | None) -> list[Target]:
        return selection.marked(kind, name)

    return resolve


for _kind in AssetKind:
    if _kind not in RESOURCES.kinds:
        RESOURCES.add(
            _kind,
            MARKED,
            _marked(_kind),
            f"{DESCRIPTIONS[_kind]}: each, or the one named.",
        )
