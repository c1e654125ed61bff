"""Pipeline step: write the evaluation's metrics into the model card and the model package.

The fine-tuning pipeline's Evaluate job runs network-isolated, so it only writes
``evaluation.json``; this function, a Lambda step after registration, reads that report and
records its metrics as the card's evaluation (a new card version) and as the package's
customer metadata, naming the package, so a reviewer approving it sees what was measured.
It also records the run's lineage: the digest of the training data the run read
(``dataset.json`` of its PrepareData step) and of the base weights it started from (the
import's ``manifest.json``), in the card's training details and the package's metadata.
Where the run evaluated bias (``bias`` in the report, from a counterfactual probe set), each
attribute's gap per metric and the largest gaps become the card's bias metric group and the
largest ROUGE-L gap the package's ``bias_max_rouge_l_gap``.

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
# Scores in [0, 1], whose gaps are too; the loss is unbounded.
BOUNDED_METRICS = ("rouge_l", "bleu")
MAX_ATTRIBUTE_CHARS = 64


class InvalidReportError(ValueError):
    """The evaluation report lacks a metric or holds one that is not a finite number, or a
    lineage record lacks its digest."""


def read_report(s3: Any, uri: str) -> dict[str, Any]:
    location = urlparse(uri)
    if location.scheme != "s3" or not location.netloc or not location.path.strip("/"):
        raise InvalidReportError(f"'{uri}' is not an s3://bucket/key URI")
    body = s3.get_object(Bucket=location.netloc, Key=location.path.lstrip("/"))["Body"]
    report: dict[str, Any] = json.loads(body.read())
    return report


def finite(value: Any, what: str) -> float:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not number or not math.isfinite(value):
        raise InvalidReportError(f"{what} is missing or not a finite number: {value!r}")
    return float(value)


def metric_values(report: dict[str, Any]) -> dict[str, float]:
    metrics = mapping(report.get("metrics"))
    return {
        name: finite(mapping(metrics.get(name)).get("value"), f"metric '{name}'")
        for name in METRICS
    }


def bias_values(report: dict[str, Any]) -> dict[str, float] | None:
    """Each attribute's gap per metric (``<metric>_gap/<attribute>``) and the largest gaps
    (``max_<metric>_gap``); None where the run evaluated no bias. A gap is never negative and
    the largest gap of a metric is at least each attribute's."""
    bias = report.get("bias")
    if bias is None:
        return None
    attributes = bias.get("attributes") if isinstance(bias, dict) else None
    if not isinstance(attributes, dict) or not attributes:
        raise InvalidReportError("the bias report names no attribute")
    values: dict[str, float] = {}
    for attribute, entry in sorted(attributes.items()):
        if not 1 <= len(attribute) <= MAX_ATTRIBUTE_CHARS:
            raise InvalidReportError(
                f"a bias attribute is named with 1 to {MAX_ATTRIBUTE_CHARS} characters"
            )
        gaps = mapping(entry.get("gaps") if isinstance(entry, dict) else None)
        for name in METRICS:
            what = f"bias gap '{name}' of attribute '{attribute}'"
            values[f"{name}_gap/{attribute}"] = gap(gaps.get(name), what, name)
    largest = mapping(bias.get("max_gaps"))
    for name in METRICS:
        top = gap(largest.get(name), f"largest bias gap '{name}'", name)
        widest = max(values[f"{name}_gap/{attribute}"] for attribute in attributes)
        if not math.isclose(top, widest, rel_tol=1e-9, abs_tol=1e-12):
            raise InvalidReportError(
                f"largest bias gap '{name}' is {top}, not the attributes' largest ({widest})"
            )
        values[f"max_{name}_gap"] = top
    return values


def mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def gap(value: Any, what: str, metric: str) -> float:
    """A gap between group scores: at least 0, and at most 1 for a score in [0, 1]."""
    number = finite(value, what)
    if number < 0 or (metric in BOUNDED_METRICS and number > 1):
        raise InvalidReportError(f"{what} is out of range: {number!r}")
    return number


def probe_count(bias: dict[str, Any]) -> int:
    probes = bias.get("probes")
    if not isinstance(probes, int) or isinstance(probes, bool) or probes < 1:
        raise InvalidReportError(
            f"the bias report's probe count is not a positive integer: {probes!r}"
        )
    return probes


def bias_group(values: dict[str, float], probes: int) -> dict[str, Any]:
    return {
        "name": "bias",
        "metric_data": [
            {
                "name": name,
                "type": "number",
                "value": value,
                "notes": f"Largest minus smallest group score over {probes} counterfactual "
                "probe(s) with the group terms swapped",
            }
            for name, value in values.items()
        ],
    }


def with_evaluation(
    content: dict[str, Any],
    values: dict[str, float],
    bias: dict[str, float] | None,
    package_arn: str,
    uri: str,
    report: dict[str, Any],
) -> dict[str, Any]:
    """The card content with this evaluation (and its bias gaps, where evaluated) in place of
    any earlier pipeline evaluation."""
    samples = int(report.get("samples", 0))
    groups = [
        {
            "name": "quality",
            "metric_data": [
                {"name": name, "type": "number", "value": values[name], "notes": notes}
                for name, notes in METRICS.items()
            ],
        }
    ]
    if bias is not None:
        groups.append(bias_group(bias, probe_count(report["bias"])))
    evaluation = {
        "name": EVALUATION_NAME,
        "evaluation_observation": f"Evaluate step of the pipeline, {samples} validation samples",
        "evaluation_job_arn": package_arn,
        "datasets": [uri],
        "metric_groups": groups,
    }
    others = [
        entry
        for entry in content.get("evaluation_details", [])
        if entry.get("name") != EVALUATION_NAME
    ]
    return {**content, "evaluation_details": [*others, evaluation]}


def digest_of(record: dict[str, Any], uri: str) -> str:
    digest = record.get("sha256")
    if not (isinstance(digest, str) and len(digest) == 64):
        raise InvalidReportError(f"{uri} holds no SHA-256 digest")
    return digest


def with_lineage(
    content: dict[str, Any], dataset: dict[str, Any], base: dict[str, Any], uris: tuple[str, str]
) -> dict[str, Any]:
    """The card content with the run's training data and base weights in its training
    details."""
    records = dataset.get("records", {})
    observation = (
        f"Trained on {len(dataset.get('files', []))} file(s) of the training zone, SHA-256 "
        f"{digest_of(dataset, uris[0])} ({records.get('train', 0)} training and "
        f"{records.get('validation', 0)} validation records; {uris[0]}), from the base weights "
        f"of {base.get('model_id', '?')}, SHA-256 {digest_of(base, uris[1])} (staged from "
        f"{base.get('source', '?')}; {uris[1]})."
    )
    return {**content, "training_details": {"training_observations": observation}}


def handler(event: dict[str, Any], context: Any = None, *, clients: Any = None) -> dict[str, Any]:
    sagemaker, s3 = clients or (boto3.client("sagemaker"), boto3.client("s3"))
    card, package = event["model_card_name"], event["model_package_arn"]
    uri = event["evaluation_uri"]
    report = read_report(s3, uri)
    values, bias = metric_values(report), bias_values(report)
    lineage = (event["dataset_uri"], event["base_weights_uri"])
    dataset, base = (read_report(s3, each) for each in lineage)
    digests = {
        "dataset_sha256": digest_of(dataset, lineage[0]),
        "base_weights_sha256": digest_of(base, lineage[1]),
    }
    content = json.loads(sagemaker.describe_model_card(ModelCardName=card)["Content"])
    updated = with_evaluation(content, values, bias, package, uri, report)
    updated = with_lineage(updated, dataset, base, lineage)
    sagemaker.update_model_card(ModelCardName=card, Content=json.dumps(updated))
    sagemaker.update_model_package(
        ModelPackageArn=package,
        CustomerMetadataProperties={
            **{name: f"{value:.6g}" for name, value in values.items()},
            **({} if bias is None else {"bias_max_rouge_l_gap": f"{bias['max_rouge_l_gap']:.6g}"}),
            **digests,
        },
    )
    return values
