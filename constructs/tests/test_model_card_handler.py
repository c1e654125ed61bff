"""The pipeline's RecordEvaluation step: the report's metrics into the card and the package.

SageMaker and S3 are real boto3 clients wrapped in Stubbers: nothing reaches the network.
"""

from __future__ import annotations

import io
import json
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from genai_constructs.handlers.model_card import index

PACKAGE = "arn:aws:sagemaker:eu-west-1:555555555555:model-package/claims-summarizer/3"
URI = "s3://artifacts-bucket/pipelines/claims-summarizer/evaluation/exec-1/evaluation.json"
DATASET_URI = "s3://artifacts-bucket/pipelines/claims-summarizer/lineage/exec-1/dataset.json"
BASE_URI = "s3://artifacts-bucket/models/mistral-7b-instruct/base/manifest.json"
EVENT = {
    "model_card_name": "claims-summarizer",
    "model_package_arn": PACKAGE,
    "evaluation_uri": URI,
    "dataset_uri": DATASET_URI,
    "base_weights_uri": BASE_URI,
}
DATASET = {
    "files": [{"path": "part-0.jsonl", "bytes": 10, "sha256": "a" * 64}],
    "sha256": "d" * 64,
    "records": {"train": 54, "validation": 6, "skipped": 1},
}
BASE = {"model_id": "mistral-7b-instruct", "source": "s3://intake/mistral/", "sha256": "b" * 64}
CARD = {
    "model_overview": {"model_description": "merged LoRA"},
    "evaluation_details": [
        {"name": "pipeline-evaluation", "metric_groups": []},
        {"name": "bias-review", "metric_groups": []},
    ],
}


def report(**metrics: Any) -> dict[str, Any]:
    values = {"rouge_l": 0.41, "bleu": 0.18, "eval_loss": 1.25, **metrics}
    return {"metrics": {k: {"value": v} for k, v in values.items()}, "samples": 60}


def stubbed(
    evaluation: dict[str, Any], dataset: dict[str, Any] = DATASET
) -> tuple[Any, Any, Stubber, Stubber]:
    sagemaker = boto3.client("sagemaker", region_name="eu-west-1")
    s3 = boto3.client("s3", region_name="eu-west-1")
    s3_stub, sm_stub = Stubber(s3), Stubber(sagemaker)
    for uri, document in ((URI, evaluation), (DATASET_URI, dataset), (BASE_URI, BASE)):
        body = json.dumps(document).encode()
        s3_stub.add_response(
            "get_object",
            {"Body": StreamingBody(io.BytesIO(body), len(body))},
            {"Bucket": "artifacts-bucket", "Key": uri.split("artifacts-bucket/")[1]},
        )
    return sagemaker, s3, sm_stub, s3_stub


def run_handler(
    evaluation: dict[str, Any], metadata: dict[str, str]
) -> tuple[dict[str, float], dict[str, Any]]:
    """The handler's values and the card content it wrote, with the package's metadata
    expected to be ``metadata``."""
    sagemaker, s3, sm_stub, s3_stub = stubbed(evaluation)
    sm_stub.add_response(
        "describe_model_card",
        {
            "ModelCardArn": "arn:aws:sagemaker:eu-west-1:555555555555:model-card/claims-summarizer",
            "ModelCardName": "claims-summarizer",
            "ModelCardVersion": 1,
            "Content": json.dumps(CARD),
            "ModelCardStatus": "Draft",
            "CreationTime": "2026-11-27T00:00:00Z",
            "CreatedBy": {},
            "LastModifiedTime": "2026-11-27T00:00:00Z",
        },
        {"ModelCardName": "claims-summarizer"},
    )
    written: dict[str, Any] = {}

    def capture(params: dict[str, Any], **_: Any) -> None:
        written.update(json.loads(params["Content"]))

    sagemaker.meta.events.register("before-parameter-build.sagemaker.UpdateModelCard", capture)
    sm_stub.add_response(
        "update_model_card",
        {"ModelCardArn": "arn:aws:sagemaker:eu-west-1:555555555555:model-card/claims-summarizer"},
    )
    sm_stub.add_response(
        "update_model_package",
        {"ModelPackageArn": PACKAGE},
        {
            "ModelPackageArn": PACKAGE,
            "CustomerMetadataProperties": metadata,
        },
    )
    with sm_stub, s3_stub:
        values = index.handler(EVENT, clients=(sagemaker, s3))
    sm_stub.assert_no_pending_responses()
    return values, written


QUALITY_METADATA = {
    "rouge_l": "0.41",
    "bleu": "0.18",
    "eval_loss": "1.25",
    "dataset_sha256": "d" * 64,
    "base_weights_sha256": "b" * 64,
}


def test_the_metrics_replace_the_previous_pipeline_evaluation() -> None:
    values, written = run_handler(report(), QUALITY_METADATA)
    assert values == {"rouge_l": 0.41, "bleu": 0.18, "eval_loss": 1.25}
    names = [entry["name"] for entry in written["evaluation_details"]]
    assert names == ["bias-review", "pipeline-evaluation"]
    evaluation = written["evaluation_details"][1]
    assert evaluation["evaluation_job_arn"] == PACKAGE
    assert evaluation["datasets"] == [URI]
    assert "60 validation samples" in evaluation["evaluation_observation"]
    assert [group["name"] for group in evaluation["metric_groups"]] == ["quality"]
    data = {m["name"]: m["value"] for m in evaluation["metric_groups"][0]["metric_data"]}
    assert data == {"rouge_l": 0.41, "bleu": 0.18, "eval_loss": 1.25}
    assert written["model_overview"] == CARD["model_overview"]
    observation = written["training_details"]["training_observations"]
    assert observation == (
        f"Trained on 1 file(s) of the training zone, SHA-256 {'d' * 64} (54 training and 6 "
        f"validation records; {DATASET_URI}), from the base weights of mistral-7b-instruct, "
        f"SHA-256 {'b' * 64} (staged from s3://intake/mistral/; {BASE_URI})."
    )


def test_a_run_without_its_datasets_digest_is_refused() -> None:
    sagemaker, s3, _, s3_stub = stubbed(report(), dataset={"files": []})
    with s3_stub, pytest.raises(index.InvalidReportError, match=r"dataset\.json holds no SHA-256"):
        index.handler(EVENT, clients=(sagemaker, s3))


@pytest.mark.parametrize(
    ("metrics", "message"),
    [
        ({"bleu": None}, "metric 'bleu' is missing"),
        ({"eval_loss": float("nan")}, "metric 'eval_loss' is missing or not a finite number"),
        ({"rouge_l": True}, "metric 'rouge_l' is missing"),
        ({"rouge_l": "0.4"}, "metric 'rouge_l' is missing"),
    ],
)
def test_a_report_without_finite_metrics_is_refused(metrics: dict[str, Any], message: str) -> None:
    with pytest.raises(index.InvalidReportError, match=message):
        index.metric_values(report(**metrics))


def test_the_report_location_must_be_an_s3_object() -> None:
    with pytest.raises(index.InvalidReportError, match="is not an s3://bucket/key URI"):
        index.read_report(None, "https://example.com/evaluation.json")


def gaps(rouge_l: Any, bleu: Any = 0.02, eval_loss: Any = 0.1) -> dict[str, Any]:
    return {"rouge_l": rouge_l, "bleu": bleu, "eval_loss": eval_loss}


def with_bias(**changes: Any) -> dict[str, Any]:
    bias: dict[str, Any] = {
        "attributes": {
            "gender": {"groups": {}, "gaps": gaps(0.04)},
            "age": {"groups": {}, "gaps": gaps(0.07, 0.05, 0.3)},
        },
        "max_gaps": gaps(0.07, 0.05, 0.3),
        "probes": 12,
        **changes,
    }
    return {**report(), "bias": bias}


def test_the_bias_gaps_fill_the_cards_bias_group_and_the_packages_metadata() -> None:
    _, written = run_handler(with_bias(), {**QUALITY_METADATA, "bias_max_rouge_l_gap": "0.07"})
    evaluation = written["evaluation_details"][1]
    quality, bias = evaluation["metric_groups"]
    assert quality["name"] == "quality"
    assert bias["name"] == "bias"
    data = {m["name"]: m["value"] for m in bias["metric_data"]}
    assert data == {
        "rouge_l_gap/age": 0.07,
        "bleu_gap/age": 0.05,
        "eval_loss_gap/age": 0.3,
        "rouge_l_gap/gender": 0.04,
        "bleu_gap/gender": 0.02,
        "eval_loss_gap/gender": 0.1,
        "max_rouge_l_gap": 0.07,
        "max_bleu_gap": 0.05,
        "max_eval_loss_gap": 0.3,
    }
    assert all("12 counterfactual probe(s)" in m["notes"] for m in bias["metric_data"])


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"attributes": {}}, "the bias report names no attribute"),
        ({"attributes": None}, "the bias report names no attribute"),
        (
            {"attributes": {"age": {"gaps": gaps(float("inf"))}}},
            "bias gap 'rouge_l' of attribute 'age' is missing or not a finite number",
        ),
        (
            {"attributes": {"age": {"gaps": {"rouge_l": 0.1, "bleu": 0.1}}}},
            "bias gap 'eval_loss' of attribute 'age' is missing",
        ),
        ({"max_gaps": gaps(None)}, "largest bias gap 'rouge_l' is missing"),
        ({"max_gaps": [0.1]}, "largest bias gap 'rouge_l' is missing"),
        (
            {"attributes": {"age": {"gaps": [0.1]}}},
            "bias gap 'rouge_l' of attribute 'age' is missing",
        ),
        (
            {"attributes": {"age": {"gaps": gaps(-0.1)}}},
            "bias gap 'rouge_l' of attribute 'age' is out of range",
        ),
        ({"max_gaps": gaps(0.05, 0.05, 0.3)}, "largest bias gap 'rouge_l' is 0.05, not the"),
        ({"max_gaps": gaps(0.09, 0.05, 0.3)}, "largest bias gap 'rouge_l' is 0.09, not the"),
        (
            {"attributes": {"age": {"gaps": gaps(7.0)}}},
            "bias gap 'rouge_l' of attribute 'age' is out of range",
        ),
        (
            {"attributes": {"x" * 65: {"gaps": gaps(0.07, 0.05, 0.3)}}},
            "a bias attribute is named with 1 to 64 characters",
        ),
    ],
)
def test_a_bias_report_without_finite_gaps_is_refused(
    changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(index.InvalidReportError, match=message):
        index.bias_values(with_bias(**changes))


def test_a_report_without_bias_has_no_bias_values() -> None:
    assert index.bias_values(report()) is None


def test_a_report_whose_metrics_are_no_mapping_is_refused() -> None:
    with pytest.raises(index.InvalidReportError, match="metric 'rouge_l' is missing"):
        index.metric_values({"metrics": []})


@pytest.mark.parametrize("probes", ["many", 0, None, True])
def test_a_bias_report_without_a_probe_count_is_refused(probes: Any) -> None:
    with pytest.raises(index.InvalidReportError, match="probe count is not a positive integer"):
        index.with_evaluation(
            CARD, index.metric_values(report()), {}, PACKAGE, URI, with_bias(probes=probes)
        )
