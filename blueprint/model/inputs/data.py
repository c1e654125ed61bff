"""The data stack's inputs: the data lake of one LOB environment."""

from __future__ import annotations

from dataclasses import dataclass, field

from blueprint.model import names
from blueprint.model.fields import EnvironmentName
from blueprint.model.inputs.shared import lob_environment, shared_artifacts, shared_curated
from blueprint.model.personas import AUDITOR, DATA_ENGINEER, DATA_SCIENTIST
from blueprint.model.plan import Placement, Plan
from blueprint.model.sections.data import DatasetConfig
from blueprint.model.sections.genai import VectorStoreKind


@dataclass(frozen=True)
class VectorStoreInputs:
    """The LOB-owned vector store of one knowledge base (kept in the data stack)."""

    knowledge_base: str
    kind: VectorStoreKind
    dimensions: int
    collection_name: str
    standby_replicas: bool


@dataclass(frozen=True)
class DataInputs:
    """The data lake of one LOB environment.

    :param pipeline_writes_only: only pipeline-tagged principals write objects (operational
        environments).
    :param data_scientist_arn: the persona that reads curated and training data (interactive
        environments only).
    :param metadata_reader_arns: roles of other accounts that may list objects and read bucket
        settings (the central auditor when the LOB allows it).
    :param ingestion_role: the name of the role ETL jobs write the zones with.
    :param shared_artifacts: prefixes of the artifacts zone that roles of other accounts may
        read (each promoted pipeline's merged models, to prod's release role).
    :param shared_curated: prefixes of the curated zone that roles of other accounts may read
        (the documents of knowledge bases promoted to the hub, to its ingestion role).
    :param prefix: the organization's name prefix (the account's boundary is named after it).
    :param tenancy: the zones are a tenancy's in a central account: only principals tagged
        with the LOB may list, read or write them.
    :param datasets: what the environment's ETL curates (none in a tenancy: the LOB's data
        lands in its own account); ``etl_schedule`` when it also runs unasked.
    :param data_engineer_arn: the persona that lands raw data (where people may write) and
        reads the raw and curated zones, where the environment has an ETL.
    :param alert_emails: who hears the ETL's alarms; ``metric_namespace`` where its quality
        scores go.
    """

    prefix: str
    lob: str
    environment: EnvironmentName
    pipeline_writes_only: bool
    noncurrent_version_days: int
    raw_object_lock_days: int | None
    data_scientist_arn: str | None
    metadata_reader_arns: tuple[str, ...]
    vector_stores: tuple[VectorStoreInputs, ...]
    ingestion_role: str
    shared_artifacts: dict[str, tuple[str, ...]] = field(default_factory=dict)
    shared_curated: dict[str, tuple[str, ...]] = field(default_factory=dict)
    event_zones: tuple[str, ...] = ()
    tenancy: bool = False
    datasets: tuple[DatasetConfig, ...] = ()
    etl_schedule: str | None = None
    data_engineer_arn: str | None = None
    alert_emails: tuple[str, ...] = ()
    metric_namespace: str = ""

    @property
    def glue_database_name(self) -> str:
        return f"{self.lob}_{self.environment.value}_curated".replace("-", "_")


def data_inputs(plan: Plan, placement: Placement) -> DataInputs:
    lob, environment = lob_environment(placement)
    knowledge_bases = plan.knowledge_bases(placement)
    datasets = () if placement.is_tenancy else tuple(lob.data.datasets)
    return DataInputs(
        prefix=placement.prefix,
        lob=lob.name,
        environment=environment,
        pipeline_writes_only=environment.operational,
        noncurrent_version_days=placement.protection.noncurrent_version_days,
        raw_object_lock_days=placement.protection.raw_object_lock_days,
        data_scientist_arn=(
            None if environment.operational else plan.role_arn(placement, DATA_SCIENTIST)
        ),
        metadata_reader_arns=(
            (plan.role_arn(plan.governance, AUDITOR),)
            if lob.auditor_metadata_read and plan.central_oversight
            else ()
        ),
        vector_stores=tuple(
            VectorStoreInputs(
                knowledge_base=kb.name,
                kind=kb.vector_store,
                dimensions=plan.config.model(kb.embedding_model).dimensions,
                collection_name=names.collection_name(placement.key, kb.name),
                standby_replicas=environment is EnvironmentName.PROD,
            )
            for kb in knowledge_bases
        ),
        ingestion_role=names.ingestion_role_name(placement.prefix),
        shared_artifacts=shared_artifacts(plan, placement),
        shared_curated=shared_curated(plan, placement),
        tenancy=placement.is_tenancy,
        event_zones=("curated",) if any(kb.ingestion.on_upload for kb in knowledge_bases) else (),
        datasets=datasets,
        etl_schedule=lob.data.etl_schedule if datasets else None,
        data_engineer_arn=plan.role_arn(placement, DATA_ENGINEER) if datasets else None,
        alert_emails=tuple(plan.alert_emails(lob)),
        metric_namespace=names.metric_namespace(placement.key),
    )
