"""How a Studio workspace tracks experiments. No CDK import, so the organization file's
checks read it without starting node."""

from __future__ import annotations

from enum import StrEnum


class MlflowKind(StrEnum):
    """``serverless``: a SageMaker MLflow App, no charge while idle (the default);
    ``tracking-server``: a managed tracking server, billed by the hour whether used or not;
    ``none``: no MLflow."""

    SERVERLESS = "serverless"
    TRACKING_SERVER = "tracking-server"
    NONE = "none"
