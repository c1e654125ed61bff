"""CloudWatch embedded metric format: a log line CloudWatch Logs turns into metrics, so a
function in an isolated VPC publishes metrics without calling CloudWatch."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def embedded_metrics(
    namespace: str,
    dimensions: Mapping[str, str],
    values: Mapping[str, float],
    timestamp_ms: int,
    units: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """One record of ``values`` under ``namespace``, with ``dimensions`` (unit ``None`` unless
    ``units`` names one)."""
    return {
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [
                {
                    "Namespace": namespace,
                    "Dimensions": [list(dimensions)],
                    "Metrics": [
                        {"Name": name, "Unit": (units or {}).get(name, "None")} for name in values
                    ],
                }
            ],
        },
        **dimensions,
        **values,
    }
