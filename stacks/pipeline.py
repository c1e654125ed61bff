"""The delivery pipelines (opt-in): CDK Pipelines in the tooling account roll out the LOBs.

Each LOB environment is one ``LobStage`` (its security, foundation, data, genai and ml stacks)
followed by a smoke check; waves and pipelines are planned by ``blueprint.model.rollout``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from pathlib import Path

import jsii
from aws_cdk import App, Duration, Environment, RemovalPolicy, Stack, Stage, Tags, pipelines
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_codepipeline_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from constructs import Construct

from blueprint.model import names
from blueprint.model.config import OrgConfig
from blueprint.model.fields import EnvironmentName
from blueprint.model.identity import Layer
from blueprint.model.inputs.genai import genai_inputs
from blueprint.model.plan import Placement, Plan
from blueprint.model.rollout import APPROVAL_ACTION, Rollout, plan_rollout
from blueprint.model.sections.platform import PipelineConfig
from blueprint.model.settings import Settings
from genai_constructs.naming import DELIVERY_TAG, rag_evaluation_parameter
from stacks import build_placement, build_platform, label
from stacks.alerts import subscribe
from stacks.compliance import NAG_PACKS
from stacks.foundation import FoundationStack, use_account_boundary
from stacks.pipeline_compliance import acknowledge_pipeline

PlacementBuilder = Callable[[Construct, Plan, Placement, dict[str, FoundationStack]], list[Stack]]
# The CDK CLI and cdk-assets the pipeline runs: the versions package.json pins for make.
NODE_PINS = json.loads((Path(__file__).resolve().parents[1] / "package.json").read_text())[
    "devDependencies"
]
BOTO3 = "boto3==1.44.5"
SYNTH_COMMANDS = [
    'export PATH="$PWD/node_modules/.bin:$PWD/.venv/bin:$PATH"',
    "make test",
    "make synth",
    # The gated assembly again, with the pipeline and its stages: what the pipeline deploys.
    "cdk synth --quiet -c pipeline=true",
    "cfn-lint $(find cdk.out -name '*.template.json')",
]


class LobStage(Stage):
    """One LOB environment's stacks, deployed by a pipeline under their usual stack names."""

    def __init__(
        self,
        scope: Construct,
        placement: Placement,
        plan: Plan,
        build: PlacementBuilder,
    ) -> None:
        super().__init__(
            scope,
            placement.key,
            env=Environment(account=placement.account, region=placement.region),
        )
        self.placement = placement
        self.stacks = build(self, plan, placement, {})
        # CDK Pipelines synthesizes a stage when it is added, before the app's aspects run: the
        # stage writes its acknowledgments into its templates itself, as the app does.
        for pack in NAG_PACKS:
            pack(self, write_suppressions_to_cloud_formation=True)


class PipelineStack(Stack):
    """One CDK pipeline: source, synth (tests and gates), self-mutation, assets, waves."""

    def __init__(
        self,
        scope: Construct,
        rollout: Rollout,
        *,
        plan: Plan,
        source: PipelineConfig,
        org_file: str,
        build: PlacementBuilder,
    ) -> None:
        tooling = plan.config.platform.tooling_account
        region = plan.config.organization.home_region
        super().__init__(
            scope,
            rollout.name,
            env=Environment(account=tooling, region=region),
            description=f"GenAI platform delivery pipeline ({', '.join(rollout.lobs)})",
            termination_protection=True,
            # Minified JSON: a pipeline of 75 LOB environments stays far below the 1 MB limit.
            suppress_template_indentation=True,
        )
        repository = pipelines.CodePipelineSource.connection(
            source.repository, source.branch, connection_arn=source.connection_arn
        )
        key = kms.Key(
            self,
            "BuildKey",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
            description="CodeBuild logs of the delivery pipeline",
        )
        key.grant_encrypt_decrypt(iam.ServicePrincipal(f"logs.{region}.amazonaws.com"))
        build_logs = logs.LogGroup(
            self,
            "BuildLogs",
            encryption_key=key,
            retention=logs.RetentionDays.TEN_YEARS,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.pipeline = pipelines.CodePipeline(
            self,
            "Pipeline",
            pipeline_type=codepipeline.PipelineType.V2,
            cross_account_keys=True,
            enable_key_rotation=True,
            self_mutation=True,
            publish_assets_in_parallel=False,
            use_pipeline_role_for_actions=True,
            cli_version=NODE_PINS["aws-cdk"],
            cdk_assets_cli_version=NODE_PINS["cdk-assets"],
            synth=pipelines.CodeBuildStep(
                "Synth",
                input=repository,
                env={"ORG": org_file, "HF_HUB_OFFLINE": "1"},
                commands=SYNTH_COMMANDS,
                primary_output_directory="cdk.out",
                timeout=Duration.hours(2),
            ),
            code_build_defaults=pipelines.CodeBuildOptions(
                build_environment=codebuild.BuildEnvironment(
                    build_image=codebuild.LinuxBuildImage.STANDARD_7_0,
                    compute_type=codebuild.ComputeType.LARGE,
                    privileged=False,
                ),
                logging=codebuild.LoggingOptions(
                    cloud_watch=codebuild.CloudWatchLoggingOptions(log_group=build_logs)
                ),
            ),
        )
        self._build_logs = build_logs
        self._smoke: codebuild.PipelineProject | None = None
        self._rag_gate: codebuild.PipelineProject | None = None
        # The gate roles' names: one per name prefix (each tenancy of a central account has its
        # LOB's).
        self._gate_roles = sorted(
            {
                names.rag_gate_role_name(p.prefix)
                for p in plan.lob_environments()
                if p.hosts(Layer.GENAI)
            }
        )
        self.approvals = sns.Topic(
            self,
            "ReleaseApprovals",
            master_key=key,
            enforce_ssl=True,
            display_name="GenAI platform: prod releases waiting for approval",
        )
        subscribe(self.approvals, plan.config.platform.alert_emails)
        prod = [p for w in rollout.waves for p in w.placements if w.environment.value == "prod"]
        for wave_plan in rollout.waves:
            pre: list[pipelines.Step] = []
            if wave_plan.approval:
                diff = ProdDiff(self.pipeline.synth, prod, region)
                pre += [diff, ReleaseApproval(self.approvals, diff, prod)]
            wave = self.pipeline.add_wave(wave_plan.name, pre=pre)
            for placement in wave_plan.placements:
                stage = LobStage(scope, placement, plan, build)
                smoke = smoke_check(repository, self.smoke_project, placement, stage)
                post: list[pipelines.Step] = [smoke]
                evaluations = rag_evaluation_parameters(plan, placement)
                if evaluations:
                    gate = rag_release_gate(
                        repository, self.rag_gate_project, placement, evaluations
                    )
                    gate.add_step_dependency(smoke)
                    post.append(gate)
                wave.add_stage(stage, post=post)
        self.pipeline.build_pipeline()
        self._keep_artifacts_to_delivery()
        # Its roles live in the tooling account, under that account's boundary.
        use_account_boundary(self, plan.prefix)
        acknowledge_pipeline(self, self.pipeline)

    def _keep_artifacts_to_delivery(self) -> None:
        """What a stage deploys is what the synth wrote to the artifact bucket: only the
        pipeline's own roles write or delete there, so nobody swaps an approved template."""
        bucket = self.pipeline.pipeline.artifact_bucket
        bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="DenyChangesExceptByDelivery",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["s3:PutObject*", "s3:DeleteObject*", "s3:RestoreObject"],
                resources=[bucket.arn_for_objects("*")],
                conditions={
                    "StringNotEquals": {f"aws:PrincipalTag/{DELIVERY_TAG[0]}": DELIVERY_TAG[1]}
                },
            )
        )

    def smoke_project(self) -> codebuild.PipelineProject:
        """One CodeBuild project for every smoke check; each action passes its target.

        Created while the pipeline is built, when its artifact key exists.
        """
        if self._smoke is None:
            self._smoke = self._check_project(
                "SmokeCheck",
                "Post-deploy smoke check of one LOB environment (blueprint/deploy/smoke.py)",
                "python3 blueprint/deploy/smoke.py --account $ACCOUNT --region $REGION"
                " --prefix $PREFIX --stacks $STACKS --role-arn $ROLE_ARN",
                Duration.minutes(15),
                iam.PolicyStatement(
                    actions=["sts:AssumeRole"],
                    resources=[f"arn:aws:iam::*:role/{names.cdk_role_name('lookup', '*', '*')}"],
                    conditions={
                        "StringEquals": {"iam:ResourceTag/aws-cdk:bootstrap-role": "lookup"}
                    },
                ),
            )
        return self._smoke

    def rag_gate_project(self) -> codebuild.PipelineProject:
        """One CodeBuild project for every RAG release gate; each action passes its target.
        It may assume only the gate roles of the LOB accounts (and tenancies)."""
        if self._rag_gate is None:
            self._rag_gate = self._check_project(
                "RagReleaseGate",
                "RAG evaluations of a nonprod LOB environment before the prod wave "
                "(blueprint/deploy/rag_gate.py)",
                "python3 -m blueprint.deploy.rag_gate --region $REGION --role-arn $ROLE_ARN"
                " --parameters $PARAMETERS",
                Duration.minutes(60),
                iam.PolicyStatement(
                    actions=["sts:AssumeRole"],
                    resources=[f"arn:aws:iam::*:role/{name}" for name in self._gate_roles],
                ),
            )
        return self._rag_gate

    def _check_project(
        self,
        construct_id: str,
        description: str,
        command: str,
        timeout: Duration,
        assume: iam.PolicyStatement,
    ) -> codebuild.PipelineProject:
        """A post-deploy check: a script of the repository, run with boto3 only, as the one
        role of the target account that ``assume`` names."""
        project = codebuild.PipelineProject(
            self,
            construct_id,
            description=description,
            environment=codebuild.BuildEnvironment(
                build_image=codebuild.LinuxBuildImage.STANDARD_7_0, privileged=False
            ),
            encryption_key=self.pipeline.pipeline.artifact_bucket.encryption_key,
            logging=codebuild.LoggingOptions(
                cloud_watch=codebuild.CloudWatchLoggingOptions(log_group=self._build_logs)
            ),
            timeout=timeout,
            build_spec=codebuild.BuildSpec.from_object(
                {
                    "version": "0.2",
                    "phases": {
                        "install": {"commands": [f"pip install --quiet {BOTO3}"]},
                        "build": {"commands": [command]},
                    },
                }
            ),
        )
        project.add_to_role_policy(assume)
        return project


def rag_evaluation_parameters(plan: Plan, placement: Placement) -> list[str]:
    """The published evaluation functions the gate runs after ``placement`` (nonprod)."""
    lob, environment = placement.lob, placement.environment
    if lob is None or environment is not EnvironmentName.NONPROD:
        return []
    return [
        rag_evaluation_parameter(lob.name, environment.value, use.name)
        for use in genai_inputs(plan, placement).use_cases
        if use.knowledge_bases
    ]


@jsii.implements(pipelines.ICodePipelineActionFactory)
class PostDeployCheck(pipelines.Step):
    """A post-deploy step: a shared check project, run against one LOB environment (its
    target in ``variables``); a failure stops the pipeline there."""

    def __init__(
        self,
        step_id: str,
        source: pipelines.CodePipelineSource,
        project: Callable[[], codebuild.IProject],
        variables: dict[str, str],
    ) -> None:
        super().__init__(step_id)
        self.source = source
        self.project = project
        self.variables = variables
        self._add_dependency_file_set(source.primary_output)

    def produce_action(
        self,
        stage: codepipeline.IStage,
        *,
        action_name: str,
        artifacts: pipelines.ArtifactMap,
        run_order: jsii.Number,
        **_: object,
    ) -> pipelines.CodePipelineActionFactoryResult:
        stage.add_action(
            actions.CodeBuildAction(
                action_name=action_name,
                run_order=int(run_order),
                project=self.project(),
                input=artifacts.to_code_pipeline(self.source.primary_output),
                environment_variables={
                    name: codebuild.BuildEnvironmentVariable(value=value)
                    for name, value in self.variables.items()
                },
            )
        )
        return pipelines.CodePipelineActionFactoryResult(run_orders_consumed=1)


def smoke_check(
    source: pipelines.CodePipelineSource,
    project: Callable[[], codebuild.IProject],
    placement: Placement,
    stage: LobStage,
) -> PostDeployCheck:
    """The smoke check of one LOB environment's stacks, through the account's lookup role."""
    lookup = names.role_arn(
        placement.account, names.cdk_role_name("lookup", placement.account, placement.region)
    )
    layers = [s.stack_name.removeprefix(f"{placement.key}-") for s in stage.stacks]
    variables = {
        "ACCOUNT": placement.account,
        "REGION": placement.region,
        "PREFIX": placement.key,
        "STACKS": ",".join(layers),
        "ROLE_ARN": lookup,
    }
    return PostDeployCheck("SmokeCheck", source, project, variables)


def rag_release_gate(
    source: pipelines.CodePipelineSource,
    project: Callable[[], codebuild.IProject],
    placement: Placement,
    parameters: list[str],
) -> PostDeployCheck:
    """The RAG evaluations of a nonprod LOB environment, through its gate role; a score below
    its threshold fails the stage, so the prod wave never starts."""
    variables = {
        "REGION": placement.region,
        "ROLE_ARN": names.role_arn(placement.account, names.rag_gate_role_name(placement.prefix)),
        "PARAMETERS": ",".join(parameters),
        "PREFIX": placement.key,
    }
    return PostDeployCheck("RagReleaseGate", source, project, variables)


class ProdDiff(pipelines.CodeBuildStep):
    """What the release would change in prod: `cdk diff` of every prod stack of the pipeline
    against what is deployed, in the build's log, for the approver to read."""

    def __init__(
        self, synth: pipelines.IFileSetProducer, prod: list[Placement], region: str
    ) -> None:
        lookups = [
            names.role_arn(p.account, names.cdk_role_name("lookup", p.account, p.region))
            for p in prod
        ]
        super().__init__(
            "DiffProd",
            input=synth,
            commands=[
                f"npx --yes aws-cdk@{NODE_PINS['aws-cdk']} diff --app . "
                + " ".join(f"'{p.key}/*'" for p in prod)
            ],
            role_policy_statements=[
                iam.PolicyStatement(actions=["sts:AssumeRole"], resources=lookups or ["*"])
            ],
            env={"AWS_REGION": region},
        )


@jsii.implements(pipelines.ICodePipelineActionFactory)
class ReleaseApproval(pipelines.Step):
    """The manual approval of a prod release: after the diff, announced on ``topic``, approved
    only by the release approver role (the tooling account's boundary denies the approval to
    every other role)."""

    def __init__(self, topic: sns.ITopic, diff: pipelines.Step, prod: list[Placement]) -> None:
        super().__init__(APPROVAL_ACTION)
        self.topic = topic
        self.prod = prod
        self.add_step_dependency(diff)

    def produce_action(
        self,
        stage: codepipeline.IStage,
        *,
        action_name: str,
        run_order: jsii.Number,
        **_: object,
    ) -> pipelines.CodePipelineActionFactoryResult:
        stage.add_action(
            actions.ManualApprovalAction(
                action_name=action_name,
                run_order=int(run_order),
                notification_topic=self.topic,
                additional_information=(
                    "Promote the nonprod-tested platform to prod ("
                    + ", ".join(p.key for p in self.prod)
                    + "); read the DiffProd build log of this execution first."
                ),
            )
        )
        return pipelines.CodePipelineActionFactoryResult(run_orders_consumed=1)


def add_pipelines(
    app: App, plan: Plan, settings: Settings, build: PlacementBuilder | None = None
) -> list[PipelineStack]:
    """The pipeline stacks that roll out every LOB environment of ``plan``."""
    source = plan.config.platform.pipeline
    if source is None:
        raise ValueError("platform.pipeline is not set: the pipeline has no source repository")
    builder = build or partial(build_placement, training_code=settings.training_code)
    tooling = plan.tooling
    pipelines_ = []
    for rollout in plan_rollout(plan):
        stack = PipelineStack(
            app, rollout, plan=plan, source=source, org_file=str(settings.org_file), build=builder
        )
        label(stack, tooling.identity(Layer.PIPELINE), tooling.tags)
        # CodePipeline's stacks for actions in other regions (an artifact bucket and its key).
        for support in stack.pipeline.pipeline.cross_region_support.values():
            label(support.stack, tooling.identity(Layer.PIPELINE), tooling.tags)
        # Its roles are the delivery workload: the only ones the accounts' deployment roles
        # trust, and that their boundary lets assume them.
        Tags.of(stack).add(*DELIVERY_TAG, include_resource_types=["AWS::IAM::Role"])
        pipelines_.append(stack)
    return pipelines_


def build_delivery(app: App, config: OrgConfig, settings: Settings) -> Plan:
    """Platform stacks deployed directly, LOB environments through the pipelines."""
    if config.platform.pipeline is None:
        raise SystemExit(
            f"{settings.org_file}: -c pipeline=true needs a platform.pipeline section "
            "(connection_arn, repository, branch); without it, synthesize without "
            "-c pipeline=true"
        )
    plan = build_platform(app, config, training_code=settings.training_code, lob_environments=False)
    add_pipelines(app, plan, settings)
    return plan
