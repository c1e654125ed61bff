"""Pipeline step: write the evaluation's metrics into the model card and the model package.

The fine-tuning pipeline's Evaluate job runs network-isolated, so it only writes
``evaluation.json``; this function, a Lambda step after registration, reads that report and
records its metrics as the card's evaluation (a new card version) and as the package's
customer metadata, naming the package, so a reviewer approving it sees what was measured.

Runtime: Python 3.14, standard library and the boto3 shipped with Lambda.
"""

from __future__ import annotations

import json
import math
from typing import Any
from urllib.parse import urlparse

import boto3

METRICS = {
    "rouge_l": "ROUGE-L F1 on the validation split (the registration gate)",
    "bleu": "Corpus BLEU (sacrebleu) on the validation split, in [0, 1]",
    "eval_loss": "Cross-entropy of the reference completions (+ EOS), per token",
}
EVALUATION_NAME = "pipeline-evaluation"


class InvalidReportError(ValueError):
    """The evaluation report lacks a metric or holds one that is not a finite number."""


def read_report(s3: Any, uri: str) -> dict[str, Any]:
    location = urlparse(uri)
    if location.scheme != "s3" or not location.netloc or not location.path.strip("/"):
        raise InvalidReportError(f"'{uri}' is not an s3://bucket/key URI")
    body = s3.get_object(Bucket=location.netloc, Key=location.path.lstrip("/"))["Body"]
    report: dict[str, Any] = json.loads(body.read())
    return report


def metric_values(report: dict[str, Any]) -> dict[str, float]:
    values: dict[str, float] = {}
    for name in METRICS:
        value = report.get("metrics", {}).get(name, {}).get("value")
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or not math.isfinite(value):
            raise InvalidReportError(
                f"metric '{name}' is missing or not a finite number: {value!r}"
            )
        values[name] = float(value)
    return values


def with_evaluation(
    content: dict[str, Any], values: dict[str, float], package_arn: str, uri: str, samples: int
) -> dict[str, Any]:
    """The card content with this evaluation in place of any earlier pipeline evaluation."""
    evaluation = {
        "name": EVALUATION_NAME,
        "evaluation_observation": f"Evaluate step of the pipeline, {samples} validation samples",
        "evaluation_job_arn": package_arn,
        "datasets": [uri],
        "metric_groups": [
            {
                "name": "quality",
                "metric_data": [
                    {"name": name, "type": "number", "value": values[name], "notes": notes}
                    for name, notes in METRICS.items()
                ],
            }
        ],
    }
    others = [
        entry
        for entry in content.get("evaluation_details", [])
        if entry.get("name") != EVALUATION_NAME
    ]
    return {**content, "evaluation_details": [*others, evaluation]}


def handler(event: dict[str, Any], context: Any = None, *, clients: Any = None) -> dict[str, Any]:
    sagemaker, s3 = clients or (boto3.client("sagemaker"), boto3.client("s3"))
    card, package = event["model_card_name"], event["model_package_arn"]
    uri = event["evaluation_uri"]
    report = read_report(s3, uri)
    values = metric_values(report)
    content = json.loads(sagemaker.describe_model_card(ModelCardName=card)["Content"])
    updated = with_evaluation(content, values, package, uri, int(report.get("samples", 0)))
    sagemaker.update_model_card(ModelCardName=card, Content=json.dumps(updated))
    sagemaker.update_model_package(
        ModelPackageArn=package,
        CustomerMetadataProperties={name: f"{value:.6g}" for name, value in values.items()},
    )
    return values
