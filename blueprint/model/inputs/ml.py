"""The ML stack's inputs: Studio, fine-tuning pipelines, releases and GPU endpoints of one
LOB environment.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from blueprint.model import names
from blueprint.model.config import LobConfig
from blueprint.model.fields import EnvironmentName
from blueprint.model.inputs.shared import lob_environment, prod_release_role
from blueprint.model.personas import DATA_SCIENTIST
from blueprint.model.plan import Placement, Plan, promoted_models
from blueprint.model.sections.catalog import OpenWeightsModel
from blueprint.model.sections.genai import UseCase
from blueprint.model.sections.ml import EndpointConfig, FineTuningConfig
from genai_constructs.gpu_memory import GPU_INSTANCES
from genai_constructs.mlflow_kind import MlflowKind
from genai_constructs.naming import parameter_path


@dataclass(frozen=True)
class StudioInputs:
    domain_name: str
    execution_role: str
    users: tuple[str, ...]
    idle_minutes: int
    mlflow: MlflowKind = MlflowKind.SERVERLESS
    owners: tuple[tuple[str, str], ...] = ()
    shared_spaces: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class FineTuningInputs:
    """A pipeline; ``job_tags`` the tags of its jobs (the LOB's, in a tenancy: the fence of
    the account's other tenancies reads them)."""

    tuning: FineTuningConfig
    base_model: OpenWeightsModel
    job_tags: tuple[tuple[str, str], ...] = ()
    # The LOB's use cases that call an endpoint serving its models: their records are the
    # model card's intended use and risk.
    served_use_cases: tuple[UseCase, ...] = ()

    @property
    def gpus(self) -> int:
        return GPU_INSTANCES[self.base_model.training_instance].gpus


@dataclass(frozen=True)
class ReleaseInputs:
    """The release of approved fine-tuned models to this environment's endpoints.

    :param role_name: the release function's role.
    :param bus_name: the event bus the registry forwards approvals to (prod).
    :param registry_account: the LOB's nonprod account, where the pipelines register models;
        a release from another account waits for this account's own approval.
    :param models: the fine-tuning pipelines whose models this environment's endpoints serve.
    """

    role_name: str
    bus_name: str
    registry_account: str
    models: tuple[str, ...]


@dataclass(frozen=True)
class EndpointInputs:
    """A GPU endpoint (applications call it through the GenAI stack's guarded endpoint)."""

    endpoint: EndpointConfig
    endpoint_name: str
    serving_instance: str
    fine_tuned: bool = False


@dataclass(frozen=True)
class MLInputs:
    """Studio (interactive), fine-tuning pipelines (nonprod), GPU endpoints (operational).

    :param release_roles: roles of other accounts that may read the registered models (the
        release role of the LOB's prod account).
    :param release_event_bus: where approvals are forwarded (prod's default event bus).
    :param release: the release of approved models to this environment's endpoints.
    :param training_code: directory of the fine-tuning recipe the pipelines upload.
    :param parameter_path: where the environment publishes its IDs (its endpoints' names).
    :param recipe_repository: where the recipe image of its fine-tuning pipelines is built.
    """

    prefix: str
    studio: StudioInputs | None
    fine_tuning: tuple[FineTuningInputs, ...]
    release_roles: tuple[str, ...]
    release_event_bus: str | None
    release: ReleaseInputs | None
    endpoints: tuple[EndpointInputs, ...]
    monitor_endpoints: bool
    training_code: Path
    alert_emails: tuple[str, ...]
    parameter_path: str
    recipe_repository: str | None = None


def ml_inputs(plan: Plan, placement: Placement, training_code: Path) -> MLInputs:
    lob, environment = lob_environment(placement)
    config = plan.config
    prod = plan.workspace(lob, EnvironmentName.PROD)
    nonprod = plan.workspace(lob, EnvironmentName.NONPROD)
    tuned = {tuning.name: tuning.base_model for tuning in lob.ml.fine_tuning}
    prod_release = prod_release_role(plan, lob)
    is_registry = environment is EnvironmentName.NONPROD
    promoted = promoted_models(lob)
    released = plan.released_models(placement)
    return MLInputs(
        prefix=placement.prefix,
        studio=(
            StudioInputs(
                domain_name=placement.key,
                execution_role=names.role_name(placement.prefix, DATA_SCIENTIST.name),
                users=tuple(user.name for user in lob.ml.studio.users),
                owners=tuple((user.name, user.user_name) for user in lob.ml.studio.users),
                idle_minutes=lob.ml.studio.idle_minutes,
                mlflow=lob.ml.studio.mlflow,
                shared_spaces=tuple(
                    (space.name, space.owner) for space in lob.ml.studio.shared_spaces
                ),
            )
            if plan.hosts_studio(placement)
            else None
        ),
        fine_tuning=tuple(
            FineTuningInputs(
                tuning,
                config.open_weights(tuning.base_model),
                job_tags=(("lob", lob.name),) if placement.is_tenancy else (),
                served_use_cases=served_use_cases(lob, tuning.name),
            )
            for tuning in plan.fine_tuning(placement)
        ),
        release_roles=(prod_release,) if is_registry and prod_release else (),
        release_event_bus=(
            names.event_bus_arn(prod.account, prod.region, names.release_bus_name(prod.prefix))
            if is_registry and prod_release and prod
            else None
        ),
        release=(
            ReleaseInputs(
                role_name=names.release_role_name(placement.prefix),
                bus_name=names.release_bus_name(placement.prefix),
                registry_account=nonprod.account,
                models=released,
            )
            if nonprod and released
            else None
        ),
        endpoints=tuple(
            EndpointInputs(
                endpoint,
                names.gpu_endpoint_name(lob.name, environment.value, endpoint.name),
                config.open_weights(tuned.get(endpoint.model, endpoint.model)).serving_instance,
                fine_tuned=endpoint.model in promoted,
            )
            for endpoint in plan.gpu_endpoints(placement)
        ),
        monitor_endpoints=environment is EnvironmentName.PROD,
        training_code=training_code,
        alert_emails=tuple(plan.alert_emails(lob)),
        parameter_path=parameter_path(lob.name, environment.value),
        recipe_repository=(
            names.recipe_repository_name(lob.name) if plan.fine_tuning(placement) else None
        ),
    )


def served_use_cases(lob: LobConfig, model: str) -> tuple[UseCase, ...]:
    """The use cases of ``lob`` that call an endpoint serving the fine-tuned ``model``."""
    serving = {endpoint.name for endpoint in lob.ml.endpoints if endpoint.model == model}
    return tuple(use for use in lob.genai.use_cases if serving & set(use.endpoints))
