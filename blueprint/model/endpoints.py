"""The interface endpoints of an account's VPC: those its workloads call, nothing more.

Each endpoint costs the same whether used or not (per zone and hour), so an environment gets
an endpoint only for a workload the platform puts there, or one the organization file adds
(``extra_endpoints``). The S3 gateway endpoint is free and always present.
"""

from __future__ import annotations

from blueprint.model.identity import Layer
from blueprint.model.inputs.agents import agents_inputs
from blueprint.model.plan import Placement, Plan
from genai_constructs.endpoint_types import endpoint_names, studio_endpoints
from genai_constructs.mlflow_kind import MlflowKind

# What each workload calls from inside the VPC (Studio: the types marked for it in
# ``genai_constructs.endpoint_types``).
WORKLOAD_ENDPOINTS: dict[str, tuple[str, ...]] = {
    # Applications of the use cases (and the answer APIs, the RAG evaluations) call models.
    "applications": ("BedrockRuntime",),
    # Answer APIs, RAG evaluations and applications retrieve from knowledge bases.
    "knowledge bases": ("BedrockAgentRuntime",),
    # Studio's MLflow (an app or a tracking server) is reached through the SageMaker
    # experiments endpoint.
    "mlflow": ("SageMakerExperiments",),
    # Pipeline steps (RecordEvaluation) and the release function call the SageMaker API.
    "model pipelines and releases": ("SageMakerApi",),
    # Applications call the GPU endpoints.
    "gpu endpoints": ("SageMakerRuntime",),
    # Agents (AgentCore runtimes in the VPC) call their model, memory and tools' gateway.
    "agents": ("BedrockRuntime", "BedrockAgentCore", "BedrockAgentCoreGateway"),
    # Applications invoke their agents (in the LOB's central tenancy: from the LOB account).
    "agent invocations": ("BedrockAgentCore",),
    # Applications of an LOB account become their roles in the LOB's central tenancy.
    "tenancy access": ("Sts",),
}


def workloads(plan: Plan, placement: Placement) -> list[str]:
    """The workloads of ``WORKLOAD_ENDPOINTS`` the platform puts in ``placement``'s VPC; none in
    the platform accounts (their VPCs run nothing)."""
    lob = placement.lob
    if lob is None:
        return []
    if not placement.hosts(Layer.GENAI):
        # An LOB account whose GenAI runs in a central tenancy (same region): its applications
        # become their tenancy roles and call the tenancy's models, knowledge bases and
        # endpoints from here.
        tenancy = plan.placement(placement.tenancy) if placement.tenancy else None
        if tenancy is None or not lob.genai.use_cases:
            return []
        calls = ["tenancy access", "applications"]
        if plan.knowledge_bases(tenancy):
            calls.append("knowledge bases")
        if plan.gpu_endpoints(tenancy):
            calls.append("gpu endpoints")
        if agents_inputs(plan, tenancy) is not None:
            calls.append("agent invocations")
        return calls
    # The invocation-logging configurator, which calls only Bedrock's API at deployment,
    # runs outside the VPC: no account needs the Bedrock endpoint for it.
    found: list[str] = []
    if lob.genai.use_cases:
        found.append("applications")
    if plan.knowledge_bases(placement):
        found.append("knowledge bases")
    if agents_inputs(plan, placement) is not None:
        found.append("agents")
    if plan.hosts_studio(placement):
        found.append("studio")
        if lob.ml.studio.mlflow is not MlflowKind.NONE:
            found.append("mlflow")
    if plan.fine_tuning(placement) or plan.released_models(placement):
        found.append("model pipelines and releases")
    if plan.gpu_endpoints(placement):
        found.append("gpu endpoints")
    return found


def interface_endpoints(plan: Plan, placement: Placement) -> tuple[str, ...]:
    """The endpoints ``placement``'s VPC gets, in the order of the endpoint types."""
    wanted = {e for w in workloads(plan, placement) for e in _calls(w)}
    lob, environment = placement.lob, placement.environment
    if lob is not None and environment is not None:
        env = getattr(lob.environments, environment.value)
        wanted |= set(env.extra_endpoints)
    return tuple(e for e in endpoint_names() if e in wanted)


def _calls(workload: str) -> tuple[str, ...]:
    if workload == "studio":
        return studio_endpoints()
    return WORKLOAD_ENDPOINTS[workload]


def endpoint_azs(placement: Placement) -> tuple[str, ...]:
    """The zones of the interface endpoints: every zone, or the first (``endpoint_azs: 1``)."""
    lob, environment = placement.lob, placement.environment
    env = getattr(lob.environments, environment.value) if lob and environment else None
    return placement.azs[:1] if env is not None and env.endpoint_azs == 1 else placement.azs
