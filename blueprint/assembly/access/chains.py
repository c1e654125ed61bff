"""Chains: how one principal becomes another, and what it reaches through them.

(Over 500 lines on purpose: the privilege graph's edge kinds below are found by one class
that shares the evaluator, the world and the search; each kind is a method of it.)

A real attack takes several calls: assume a role, update a stack CloudFormation deploys with
its service role, replace a function's code. The privilege graph has a node per role of the
assembly (and per CDK bootstrap role of each of its accounts and regions) and an edge where
one principal may act as another:

- ``assume-role``: ``sts:AssumeRole`` (the target's trust and the caller's identity);
- ``pass-role``: ``iam:PassRole`` of a role a compute service may assume, with the call that
  makes the service run code as it (a function, a job, a project, a state machine, ...);
- ``stack``: changing a stack that CloudFormation deploys with its service role (once a
  stack has one, anyone allowed to operate on the stack uses it, without ``iam:PassRole``);
- ``function-code``, ``build``, ``pipeline``, ``state-machine``, ``pipe``,
  ``delivery-pipeline``: changing the code or definition of what runs as a role (a build
  also through a buildspec override or a sandbox);
- ``studio``: opening a Studio user profile, whose apps run as its execution role, or giving
  its apps a lifecycle script; ``studio-space``: creating a space and starting an app or a
  remote session in it, which runs as the domain's space execution role;
- ``mlflow``: opening an MLflow tracking server or App, which reads and writes its artifact
  store;
- ``image``: pushing to a repository that a job or model pulls by a mutable tag;
- ``deployment-asset``, ``pipeline-artifact``: writing the staging bucket CloudFormation
  deploys from, or a delivery pipeline's artifact bucket.

An attack holds only when no chain from its actor reaches its outcome, either with the
request itself or with one that yields the same data (a log subscription, export, metric
filter or Contributor Insights rule reads a log group, a key grant decrypts, a function
permission invokes). Every hop is one request decided by the
evaluator, so each carries its deciding statements.

Not covered: chains through services that act with their own service-linked roles, through
data (a poisoned document read by a function), through people (social engineering), and
through credentials stored in the accounts.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from blueprint.assembly.access.evaluate import Decision, Evaluator, Request, carried_tags
from blueprint.assembly.access.parallel import in_processes
from blueprint.assembly.access.policies import Principal
from blueprint.assembly.access.roles import Role
from blueprint.assembly.access.symbols import Symbol, Tri, text
from blueprint.assembly.access.trusts import TrustIndex
from blueprint.assembly.access.world import World, resource_arn
from blueprint.assembly.reader import AssemblyStack
from blueprint.model import names

# Compute services that run code as a role passed to them, and the calls that make them.
PASS_ROLE_RUNS: dict[str, tuple[tuple[str, str], ...]] = {
    "lambda.amazonaws.com": (("lambda:CreateFunction", "function:chain-probe"),),
    "sagemaker.amazonaws.com": (
        ("sagemaker:CreateTrainingJob", "training-job/chain-probe"),
        ("sagemaker:CreateProcessingJob", "processing-job/chain-probe"),
        ("sagemaker:CreatePipeline", "pipeline/chain-probe"),
        ("sagemaker:CreateModel", "model/chain-probe"),
        ("sagemaker:CreateNotebookInstance", "notebook-instance/chain-probe"),
    ),
    "codebuild.amazonaws.com": (("codebuild:CreateProject", "project/chain-probe"),),
    "states.amazonaws.com": (("states:CreateStateMachine", "stateMachine:chain-probe"),),
    "glue.amazonaws.com": (("glue:CreateJob", "job/chain-probe"),),
    "pipes.amazonaws.com": (("pipes:CreatePipe", "pipe/chain-probe"),),
    "codepipeline.amazonaws.com": (("codepipeline:CreatePipeline", "chain-probe"),),
    "cloudformation.amazonaws.com": (("cloudformation:CreateStack", "stack/chain-probe/0"),),
    "scheduler.amazonaws.com": (("scheduler:CreateSchedule", "schedule/default/chain-probe"),),
}
# Changing a stack: once it has a service role, CloudFormation uses it for whoever may.
STACK_CHANGES = (
    ("cloudformation:UpdateStack",),
    ("cloudformation:CreateChangeSet", "cloudformation:ExecuteChangeSet"),
)
# What runs as a role and the calls that change what it runs, per resource type: the
# property that names the role, and the alternatives (each a set of calls all needed).
RUNNERS: dict[str, tuple[str, str, tuple[tuple[str, ...], ...]]] = {
    "AWS::Lambda::Function": (
        "function-code",
        "Role",
        (("lambda:UpdateFunctionCode",), ("lambda:UpdateFunctionConfiguration",)),
    ),
    "AWS::CodeBuild::Project": (
        "build",
        "ServiceRole",
        (
            ("codebuild:StartBuild",),
            ("codebuild:UpdateProject",),
            ("codebuild:StartBuildBatch",),
            ("codebuild:StartSandbox", "codebuild:StartCommandExecution"),
            ("codebuild:StartSandbox", "codebuild:StartSandboxConnection"),
        ),
    ),
    # MLflow reads and writes its artifact store for whoever opens it.
    "AWS::SageMaker::MlflowTrackingServer": (
        "mlflow",
        "RoleArn",
        (("sagemaker:CreatePresignedMlflowTrackingServerUrl",),),
    ),
    "AWS::SageMaker::MlflowApp": (
        "mlflow",
        "RoleArn",
        (("sagemaker:CreatePresignedMlflowAppUrl",), ("sagemaker:CallMlflowAppApi",)),
    ),
    "AWS::SageMaker::Pipeline": ("pipeline", "RoleArn", (("sagemaker:UpdatePipeline",),)),
    "AWS::StepFunctions::StateMachine": (
        "state-machine",
        "RoleArn",
        (("states:UpdateStateMachine",),),
    ),
    "AWS::Pipes::Pipe": ("pipe", "RoleArn", (("pipes:UpdatePipe",),)),
    "AWS::CodePipeline::Pipeline": (
        "delivery-pipeline",
        "RoleArn",
        (("codepipeline:UpdatePipeline",),),
    ),
}
# Requests that yield what another request yields: reading a log group's events through a
# subscription or an export, decrypting through a grant, invoking a function after granting
# oneself the right, reading or writing objects after rewriting the bucket's policy.
SAME_OUTCOME: dict[str, tuple[tuple[str, str], ...]] = {
    "logs:getlogevents": (
        ("logs:PutSubscriptionFilter", "same"),
        ("logs:CreateExportTask", "same"),
        ("logs:StartLiveTail", "same"),
        ("logs:PutMetricFilter", "same"),
        ("logs:CreateLogAnomalyDetector", "any"),
        # Contributor Insights reads log groups without any logs: permission.
        ("cloudwatch:PutInsightRule", "any"),
    ),
    "kms:decrypt": (
        ("kms:CreateGrant", "same"),
        ("kms:ReEncryptFrom", "same"),
        ("kms:PutKeyPolicy", "same"),
    ),
    "lambda:invokefunction": (
        ("lambda:AddPermission", "same"),
        ("lambda:CreateFunctionUrlConfig", "same"),
        ("lambda:UpdateFunctionUrlConfig", "same"),
    ),
    "s3:getobject": (
        ("s3:GetObjectVersion", "same"),
        ("s3:PutBucketPolicy", "bucket"),
        ("s3:PutReplicationConfiguration", "bucket"),
    ),
    "s3:putobject": (("s3:PutBucketPolicy", "bucket"),),
    "aoss:apiaccessall": (
        ("aoss:CreateAccessPolicy", "any"),
        ("aoss:UpdateAccessPolicy", "any"),
        ("aoss:UpdateSecurityPolicy", "any"),
    ),
}
SAME_OUTCOME["logs:filterlogevents"] = SAME_OUTCOME["logs:getlogevents"]
SAME_OUTCOME["logs:startquery"] = SAME_OUTCOME["logs:getlogevents"]
SAME_OUTCOME["lambda:invokefunctionurl"] = SAME_OUTCOME["lambda:invokefunction"]
SAME_OUTCOME["s3:getobjectversion"] = SAME_OUTCOME["s3:getobject"]
ECR_IMAGE = re.compile(
    r"(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com/"
    r"(?P<repository>[a-z0-9._/-]+)(?P<pin>[:@][^\s\"]+)?"
)
MAX_HOPS = 6
TRI_BY_VALUE = tuple(sorted(Tri, key=lambda tri: tri.value))
ASSUME_ROLE = "sts:AssumeRole"
Json = dict[str, Any]


@dataclass(frozen=True)
class Probe:
    """One request a hop needs: the action, its resource and owner, extra context."""

    action: str
    resource: Symbol
    account: str | None
    context: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Runner:
    """Something that runs as ``role``: changing it (any of ``options``, each a set of
    requests all needed) lets the changer act as the role."""

    kind: str
    label: str
    account: str
    role: Symbol
    options: tuple[tuple[Probe, ...], ...]


@dataclass(frozen=True)
class Hop:
    """One step of a chain: ``actor`` becomes ``becomes`` through ``kind``."""

    kind: str
    actor: str
    becomes: str
    via: str
    decision: Decision
    # The role become, by ARN (``becomes`` is its label).
    role_arn: Symbol | None = None

    def describe(self) -> str:
        return f"{self.actor} -[{self.kind}: {self.via}]-> {self.becomes}"

    def as_json(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "actor": self.actor,
            "becomes": self.becomes,
            "via": self.via,
            "decision": self.decision.decision,
            "reasons": list(self.decision.reasons),
        }


@dataclass(frozen=True)
class Reach:
    """A request asked through every chain: the decision, and the chain that reaches it
    (empty when the actor itself decides)."""

    decision: Decision
    chain: tuple[Hop, ...] = ()
    request: Request | None = None


@dataclass
class PrivilegeGraph:
    """Who may become whom in one assembly, decided by ``evaluator``."""

    world: World
    evaluator: Evaluator
    _edges: dict[Symbol, list[tuple[Hop, Role, Tri]]] = field(default_factory=dict)
    _chains: dict[Symbol, dict[Symbol, tuple[tuple[Hop, ...], Tri]]] = field(default_factory=dict)
    _runners: dict[str, list[Runner]] | None = None
    _trusts: TrustIndex | None = None
    # The search's view of the graph: each role a chain may reach by number (in the order
    # searches first meet them), and its edges as (target's number, certainty, hop).
    _numbers: dict[int, int] = field(default_factory=dict)
    _numbered: list[Role] = field(default_factory=list)
    _arns: list[Symbol] = field(default_factory=list)
    _adjacent: list[list[tuple[int, int, Hop]] | None] = field(default_factory=list)

    # --- the graph -------------------------------------------------------------------

    def chains(self, start: Role) -> dict[Symbol, tuple[tuple[Hop, ...], Tri]]:
        """Every role ``start`` can become, with the shortest chain to it and whether every
        hop of it is certain (``YES``) or only possible (``UNKNOWN``); found once per role
        (callers read it, never change it)."""
        if start.arn not in self._chains:
            self._chains[start.arn] = self._search(start)
        return self._chains[start.arn]

    def decide_edges(self, workers: int) -> None:
        """Every role's edges, decided by ``workers`` processes: the processes forked after
        (the catalog's, the sign-in doors') read them rather than each deciding again those
        its chains reach. The same edges, in the same order, as ``edges`` finds one by one."""
        roles = self.world.roles
        undecided = [
            number
            for number, role in enumerate(roles)
            if role.arn not in self._edges and self._acting(role) is role
        ]
        position = {id(role): number for number, role in enumerate(roles)}

        def decided(number: int) -> list[tuple[Hop, int, Tri]]:
            # Targets by their place in the world's roles: the same objects once back.
            return [
                (hop, position[id(target)], sure) for hop, target, sure in self.edges(roles[number])
            ]

        found = in_processes(undecided, decided, workers, lambda number: str(number))
        for number, edges in zip(undecided, found, strict=True):
            self._edges[roles[number].arn] = [(hop, roles[at], sure) for hop, at, sure in edges]

    def _search(self, start: Role) -> dict[Symbol, tuple[tuple[Hop, ...], Tri]]:
        """Breadth first from ``start``, over the roles by number and their certainty as
        ``Tri``'s value (``&`` is the lesser): at a hundred LOBs a break-glass role reaches
        thousands of roles over hundreds of thousands of edges, and this loop was most of the
        catalog's and the sign-in doors' time while it hashed each role and called ``Tri``."""
        yes, unknown = Tri.YES.value, Tri.UNKNOWN.value
        first = self._number(self._acting(start))
        chains: dict[int, tuple[Hop, ...]] = {first: ()}
        certainty: dict[int, int] = {first: yes}
        queue = deque([first])
        while queue:
            number = queue.popleft()
            chain = chains[number]
            if len(chain) >= MAX_HOPS:
                continue
            certain = certainty[number]
            for target, sure, hop in self._edges_of(number):
                known = certainty.get(target)
                if known is None:
                    chains[target] = (*chain, hop)
                    certainty[target] = certain if certain < sure else sure
                    queue.append(target)
                elif known == unknown and certain == yes and sure == yes:
                    # A certain chain replaces a possible one, however long.
                    chains[target] = (*chain, hop)
                    certainty[target] = yes
                    queue.append(target)
        arns, tri = self._arns, TRI_BY_VALUE
        return {arns[number]: (chain, tri[certainty[number]]) for number, chain in chains.items()}

    def _number(self, role: Role) -> int:
        """``role``'s number in the search's view (a role is known by its object: edges lead
        to the objects their ARNs name)."""
        number = self._numbers.get(id(role))
        if number is None:
            number = self._numbers[id(role)] = len(self._numbered)
            self._numbered.append(role)
            self._arns.append(role.arn)
            self._adjacent.append(None)
        return number

    def _edges_of(self, number: int) -> list[tuple[int, int, Hop]]:
        adjacent = self._adjacent[number]
        if adjacent is None:
            adjacent = [
                (self._number(target), sure.value, hop)
                for hop, target, sure in self.edges(self._numbered[number])
            ]
            self._adjacent[number] = adjacent
        return adjacent

    def edges(self, role: Role) -> list[tuple[Hop, Role, Tri]]:
        """Where ``role`` may go in one hop, decided as the assembly's role of its ARN: when
        a role is written twice (two stacks, one ARN), the one the evaluator decides as,
        whichever of the two a chain reaches (both have the same edges)."""
        if role.arn not in self._edges:
            self._edges[role.arn] = list(self._find_edges(self._acting(role)))
        return self._edges[role.arn]

    def _acting(self, role: Role) -> Role:
        return self.world.role_by_arn(role.arn) or role

    def _find_edges(self, role: Role) -> Iterator[tuple[Hop, Role, Tri]]:
        principal = role.principal()
        label = _label(role)
        if self._trusts is None:
            self._trusts = TrustIndex(self.world.roles)
        for target in self._trusts.candidates(principal, delegates=_may_assume(role)):
            if target is role or not _trust_may_admit(target, principal):
                continue
            # The caller picks the STS endpoint: the target's own region is the one a trust
            # may insist on (break glass, whose alarm listens there).
            probe = Probe(
                ASSUME_ROLE,
                target.arn,
                target.account,
                (("aws:RequestedRegion", target.region),),
            )
            decision = self._decide(principal, probe)
            if decision.decision != "deny":
                yield self._hop("assume-role", label, target, ASSUME_ROLE, decision)
        for runner in self.runners().get(role.account, []):
            runs_as = self.world.role_by_arn(runner.role)
            if runs_as is None or runs_as is role:
                continue
            outcome = self._runner_edge(role, principal, runner)
            if outcome is not None:
                via, decision = outcome
                yield self._hop(runner.kind, label, runs_as, f"{via} {runner.label}", decision)

    def _runner_edge(
        self, role: Role, principal: Principal, runner: Runner
    ) -> tuple[str, Decision] | None:
        """The first option of ``runner`` that ``role`` may take (allow before unknown)."""
        unsure: tuple[str, Decision] | None = None
        for option in runner.options:
            if not all(_identity_may(role, probe.action) for probe in option):
                continue
            decisions = [self._decide(principal, probe) for probe in option]
            verdict = Tri.all(_tri(d) for d in decisions)
            if verdict is Tri.NO:
                continue
            via = " + ".join(probe.action for probe in option)
            combined = Decision.of(verdict, [r for d in decisions for r in d.reasons])
            if verdict is Tri.YES:
                return via, combined
            unsure = unsure or (via, combined)
        return unsure

    def _hop(
        self, kind: str, actor: str, target: Role, via: str, decision: Decision
    ) -> tuple[Hop, Role, Tri]:
        hop = Hop(kind, actor, _label(target), via, decision, target.arn)
        return hop, self._acting(target), _tri(decision)

    def _decide(self, principal: Principal, probe: Probe) -> Decision:
        context = {key: (text(value),) for key, value in probe.context}
        return self.evaluator.evaluate(
            Request(principal, probe.action, probe.resource, probe.account, context)
        )

    # --- outcomes --------------------------------------------------------------------

    def reach(self, request: Request) -> Reach:
        """``request`` asked of its principal and of every role it can become, each also
        through the requests that yield the same outcome; the first allow by a certain chain
        decides, else an unknown, else the principal's own deny."""
        direct = self.evaluator.evaluate(request)
        role = self.world.role_by_arn(request.principal.arn)
        if request.principal.is_service or role is None:
            return Reach(direct, (), request)
        unsure: Reach | None = None
        reached = sorted(self.chains(role).items(), key=lambda item: len(item[1][0]))
        for arn, (chain, certain) in reached:
            actor = self.world.role_by_arn(arn)
            if actor is None:
                continue
            principal = self.along(chain, request.principal)
            for variant in same_outcome(request, principal):
                if variant != request and not self.evaluator.may_allow(variant):
                    continue  # denied: it decides nothing here
                decision = direct if variant == request else self.evaluator.evaluate(variant)
                verdict = _tri(decision) & certain
                if verdict is Tri.YES:
                    return Reach(decision, chain, variant)
                if verdict is Tri.UNKNOWN and unsure is None:
                    unsure = Reach(Decision("unknown", decision.reasons), chain, variant)
        return unsure or Reach(direct, (), request)

    def along(self, chain: tuple[Hop, ...], start: Principal) -> Principal:
        """Who ``start`` is at the end of ``chain``: whoever signed in stays who they are
        through each role whose trust binds the session tag to the caller's own (and whose
        caller may tag sessions); after a hop that does not (a service running as a role, a
        trust that lets callers tag freely, a caller without sts:TagSession), the session's
        tags are unknown."""
        principal = start
        caller = self.world.role_by_arn(start.arn)
        for hop in chain:
            role = self.world.role_by_arn(hop.role_arn) if hop.role_arn is not None else None
            if role is None:
                raise ValueError(f"a chain's hop names no role of the world: {hop.describe()}")
            tags = caller is not None and _identity_may(caller, "sts:TagSession")
            principal = (
                chained(role, principal) if hop.kind == "assume-role" and tags else role.principal()
            )
            caller = role
        return principal

    # --- what runs as a role ---------------------------------------------------------

    def runners(self) -> dict[str, list[Runner]]:
        """Per account, everything that runs as a role of the assembly."""
        if self._runners is None:
            found: dict[str, list[Runner]] = {}
            for runner in self._all_runners():
                found.setdefault(runner.account, []).append(runner)
            self._runners = found
        return self._runners

    def _all_runners(self) -> Iterator[Runner]:
        world, resolver = self.world, self.world.resolver
        deployed: set[tuple[str, str]] = set()
        for stack in world.assembly.stacks:
            deployed.add((stack.account, stack.region))
            yield self._stack_runner(stack)
            for logical_id, resource in stack.resources.items():
                kind = resource.get("Type", "")
                props = resource.get("Properties", {})
                if kind in RUNNERS:
                    edge, role_property, options = RUNNERS[kind]
                    role_arn = resolver.value(stack, props.get(role_property))
                    arn = _runner_arn(world, stack, logical_id)
                    yield Runner(
                        edge,
                        f"{stack.name}/{logical_id}",
                        stack.account,
                        _role_arn(world, stack, role_arn),
                        tuple(
                            tuple(Probe(action, arn, stack.account) for action in option)
                            for option in options
                        ),
                    )
                if kind == "AWS::SageMaker::UserProfile":
                    yield from self._studio_runner(stack, logical_id, props)
                if kind == "AWS::SageMaker::Domain":
                    yield from self._space_runner(stack, logical_id, props)
                if kind == "AWS::CodePipeline::Pipeline":
                    yield from self._artifact_runners(stack, props)
                yield from self._image_runners(stack, logical_id, resource)
        for account, region in sorted(deployed):
            yield from self._assets_runners(account, region)
        yield from self._pass_role_runners()

    def _stack_runner(self, stack: AssemblyStack) -> Runner:
        arn = text(stack_arn(stack))
        return Runner(
            "stack",
            stack.name,
            stack.account,
            text(names.role_arn(stack.account, cfn_execution_role(stack.account, stack.region))),
            tuple(
                tuple(Probe(action, arn, stack.account) for action in option)
                for option in STACK_CHANGES
            ),
        )

    def _studio_runner(
        self, stack: AssemblyStack, logical_id: str, props: Json
    ) -> Iterator[Runner]:
        resolver = self.world.resolver
        execution = props.get("UserSettings", {}).get("ExecutionRole")
        if execution is None:
            execution = self._domain_execution_role(stack, props.get("DomainId"))
        if execution is None:
            return
        arn = resource_arn(resolver, stack, logical_id)
        domain = self._domain_arn(stack, props.get("DomainId"))
        script = Probe(
            "sagemaker:CreateStudioLifecycleConfig",
            text(
                f"arn:aws:sagemaker:{stack.region}:{stack.account}:"
                "studio-lifecycle-config/chain-probe"
            ),
            stack.account,
        )
        yield Runner(
            "studio",
            f"{stack.name}/{logical_id}",
            stack.account,
            _role_arn(self.world, stack, resolver.value(stack, execution)),
            (
                (Probe("sagemaker:CreatePresignedDomainUrl", arn, stack.account),),
                # A lifecycle script runs in the profile's apps, as its execution role.
                (script, Probe("sagemaker:UpdateUserProfile", arn, stack.account)),
                (script, Probe("sagemaker:UpdateDomain", domain, stack.account)),
            ),
        )

    def _space_runner(self, stack: AssemblyStack, logical_id: str, props: Json) -> Iterator[Runner]:
        """A space of the domain runs its apps as the domain's space execution role; whoever
        creates one and starts an app (or a remote session) in it acts as that role."""
        execution = props.get("DefaultSpaceSettings", {}).get("ExecutionRole")
        if execution is None:
            return
        domain = self.world.resolver.generated_id(stack, logical_id)
        sagemaker = f"arn:aws:sagemaker:{stack.region}:{stack.account}"
        space = Symbol.of(f"{sagemaker}:space/", domain, "/chain-probe")
        app = Symbol.of(f"{sagemaker}:app/", domain, "/chain-probe/jupyterlab/default")
        create = Probe("sagemaker:CreateSpace", space, stack.account)
        yield Runner(
            "studio-space",
            f"{stack.name}/{logical_id}",
            stack.account,
            _role_arn(self.world, stack, self.world.resolver.value(stack, execution)),
            (
                (create, Probe("sagemaker:CreateApp", app, stack.account)),
                (create, Probe("sagemaker:StartSession", space, stack.account)),
            ),
        )

    def _domain_arn(self, stack: AssemblyStack, domain: object) -> Symbol:
        target = domain.get("Fn::GetAtt", [None])[0] if isinstance(domain, dict) else None
        if isinstance(target, str) and target in stack.resources:
            return self.world.resolver.arn(stack, target)
        return text(f"arn:aws:sagemaker:{stack.region}:{stack.account}:domain/chain-probe")

    def _domain_execution_role(self, stack: AssemblyStack, domain: object) -> object | None:
        """The execution role of a profile's domain (its default user settings')."""
        target = domain.get("Fn::GetAtt", [None])[0] if isinstance(domain, dict) else None
        resource = stack.resources.get(str(target), {})
        settings: Json = resource.get("Properties", {}).get("DefaultUserSettings", {})
        execution: object | None = settings.get("ExecutionRole")
        return execution

    def _image_runners(
        self, stack: AssemblyStack, logical_id: str, resource: Json
    ) -> Iterator[Runner]:
        """A job, model or function that pulls an image of a repository by a mutable tag
        runs whatever is pushed there next, as its role."""
        kind = resource.get("Type", "")
        role_property = {
            "AWS::SageMaker::Pipeline": "RoleArn",
            "AWS::SageMaker::Model": "ExecutionRoleArn",
            "AWS::Lambda::Function": "Role",
        }.get(kind)
        if role_property is None:
            return
        props = resource.get("Properties", {})
        body = str(self.world.resolver.value(stack, _flatten(props)))
        role = _role_arn(
            self.world, stack, self.world.resolver.value(stack, props.get(role_property))
        )
        for found in ECR_IMAGE.finditer(body):
            if (found["pin"] or "").startswith("@sha256:"):
                continue
            repository = (
                f"arn:aws:ecr:{found['region']}:{found['account']}:repository/{found['repository']}"
            )
            yield Runner(
                "image",
                f"{stack.name}/{logical_id} pulls {found['repository']}{found['pin'] or ''}",
                found["account"],
                role,
                ((Probe("ecr:PutImage", text(repository), found["account"]),),),
            )

    def _artifact_runners(self, stack: AssemblyStack, props: Json) -> Iterator[Runner]:
        """Whoever writes a delivery pipeline's artifact bucket between two actions changes
        what the next one builds or deploys, with the pipeline's roles."""
        resolver = self.world.resolver
        stores = [props["ArtifactStore"]] if "ArtifactStore" in props else []
        stores += [s.get("ArtifactStore", {}) for s in props.get("ArtifactStores", [])]
        role = _role_arn(self.world, stack, resolver.value(stack, props.get("RoleArn")))
        for store in stores:
            bucket = resolver.value(stack, store.get("Location"))
            yield Runner(
                "pipeline-artifact",
                f"{stack.name} artifacts",
                stack.account,
                role,
                (
                    (
                        Probe(
                            "s3:PutObject",
                            Symbol.of("arn:aws:s3:::", bucket, "/chain-probe"),
                            stack.account,
                        ),
                    ),
                ),
            )

    def _assets_runners(self, account: str, region: str) -> Iterator[Runner]:
        """Whoever writes the staging bucket between upload and deployment changes what
        CloudFormation deploys with its service role."""
        bucket = names.asset_bucket_name(account, region)
        yield Runner(
            "deployment-asset",
            f"s3://{bucket}",
            account,
            text(names.role_arn(account, cfn_execution_role(account, region))),
            ((Probe("s3:PutObject", text(f"arn:aws:s3:::{bucket}/chain-probe"), account),),),
        )

    def _pass_role_runners(self) -> Iterator[Runner]:
        for role in self.world.roles:
            for service in sorted(_trusted_services(role)):
                for action, resource in PASS_ROLE_RUNS.get(service, ()):
                    prefix = action.split(":")[0]
                    arn = f"arn:aws:{prefix}:{role.region}:{role.account}:{resource}"
                    yield Runner(
                        "pass-role",
                        f"{_label(role)} to {service}",
                        role.account,
                        role.arn,
                        (
                            (
                                Probe(
                                    "iam:PassRole",
                                    role.arn,
                                    role.account,
                                    (("iam:PassedToService", service),),
                                ),
                                Probe(action, text(arn), role.account),
                            ),
                        ),
                    )


def chained(role: Role, start: Principal) -> Principal:
    """A session of ``role`` reached from ``start``: the tags its trust binds to the caller's
    own are ``start``'s (whoever signed in stays who they are along the chain; a service
    passes none, which grants less); any other session tag stays unknown."""
    carried = carried_tags(role, start)
    principal = role.principal()
    if carried is None:
        return principal
    tags = dict(principal.tags) | dict(carried)
    return replace(principal, tags=tuple(sorted(tags.items())), session_known=True)


def same_outcome(request: Request, principal: Principal) -> Iterator[Request]:
    """``request`` as ``principal``, then each request that yields the same outcome."""
    yield replace(request, principal=principal) if principal != request.principal else request
    for action, on in SAME_OUTCOME.get(request.action.lower(), ()):
        resource = request.resource
        if on == "bucket":
            resource = resource.split("/")[0]
        elif on == "any":
            resource = text("*")
        yield replace(request, principal=principal, action=action, resource=resource, context={})


def stack_arn(stack: AssemblyStack) -> str:
    """The ARN requests on ``stack`` name (its ID is decided at creation)."""
    return (
        f"arn:aws:cloudformation:{stack.region}:{stack.account}:stack/{stack.name}/"
        "00000000-0000-0000-0000-000000000000"
    )


def cfn_execution_role(account: str, region: str) -> str:
    return names.cdk_role_name("cfn-exec", account, region)


def _runner_arn(world: World, stack: AssemblyStack, logical_id: str) -> Symbol:
    return world.resolver.arn(stack, logical_id)


def _role_arn(world: World, stack: AssemblyStack, value: Symbol) -> Symbol:
    """A role property's value as the role's ARN (some properties take the name)."""
    role = world.role_by_arn(value)
    if role is not None:
        return role.arn
    literal = value.text
    if literal and not literal.startswith("arn:"):
        named = world.role(stack.account, literal)
        if named is not None:
            return named.arn
    return value


def _trust_may_admit(target: Role, principal: Principal) -> bool:
    """Whether any allow statement of ``target``'s trust may name ``principal`` (a cheap
    filter before the evaluator decides)."""
    for statement in target.trust:
        if not statement.allow or not statement.may_cover("sts:AssumeRole"):
            continue
        if statement.names(principal) is not Tri.NO:
            return True
    return False


def _identity_may(role: Role, action: str) -> bool:
    """Whether ``role``'s identity policies may allow ``action`` (a cheap filter: actions
    granted only by resource policies are the evaluator's to find)."""
    return _identity_names(role, action) or _granted_by_resource_policy(action)


def _identity_names(role: Role, action: str) -> bool:
    """Whether any allow of ``role``'s identity policies may name ``action`` (one whose
    actions are not all literal may name any; so may a policy that cannot be read)."""
    return bool(role.unreadable) or any(
        statement.allow and statement.may_cover(action) for statement in role.identity
    )


def _may_assume(role: Role) -> Callable[[Role], bool]:
    """Whether ``role``'s identity policies may allow it to assume a role (a cheap filter
    for the trusts that name it only by its account, which leave the decision to them)."""
    if role.unreadable:
        return lambda target: True
    assuming = [
        statement
        for statement in role.identity
        if statement.allow and statement.may_cover(ASSUME_ROLE)
    ]
    return lambda target: any(s.may_cover(ASSUME_ROLE, target.arn) for s in assuming)


def _granted_by_resource_policy(action: str) -> bool:
    return action.lower() in ("sts:assumerole", "s3:putobject", "ecr:putimage")


def _trusted_services(role: Role) -> set[str]:
    return {
        ref.value.text
        for statement in role.trust
        if statement.allow
        for ref in statement.principals or ()
        if ref.kind == "Service" and ref.value.text
    }


def _label(role: Role) -> str:
    return f"{role.account}:{role.name.text}" if role.name.text else role.where


def _tri(decision: Decision) -> Tri:
    return {"allow": Tri.YES, "deny": Tri.NO}.get(decision.decision, Tri.UNKNOWN)


def _flatten(value: object) -> object:
    """A property tree as one ``Fn::Join`` of its strings, to search image URIs in it."""
    pieces: list[object] = []

    def walk(node: object) -> None:
        if (
            isinstance(node, dict)
            and len(node) == 1
            and next(iter(node)).startswith(("Fn::", "Ref"))
        ):
            pieces.extend([node, " "])
        elif isinstance(node, dict):
            for item in node.values():
                walk(item)
        elif isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, str):
            pieces.extend([node, " "])

    walk(value)
    return {"Fn::Join": ["", pieces]}


def describe(chain: Iterable[Hop]) -> list[str]:
    return [hop.describe() for hop in chain]
