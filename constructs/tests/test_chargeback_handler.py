"""The monthly token chargeback: the month's window, cross-account metric queries, prices per
model, and the reports (S3 is moto's, CloudWatch a fake answering per account and metric)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws

from genai_constructs.handlers.chargeback import index

BUCKET = "example-corp-chargeback"
NOW = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
ASSISTANT = "GenAIPlatform/claims-prod-genai/claims-assistant/observed"
SUMMARIZER = "GenAIPlatform/claims-prod-genai/summarizer/observed"
EVENT = {
    "lob": "claims",
    "environments": [
        {
            "environment": "prod",
            "account": "666666666666",
            "region": "eu-west-1",
            "use_cases": [
                {
                    "name": "claims-assistant",
                    "model": "amazon.nova-pro-v1:0",
                    "namespace": ASSISTANT,
                },
                {"name": "summarizer", "model": "example.unpriced-v1:0", "namespace": SUMMARIZER},
            ],
        }
    ],
    "prices": {"amazon.nova-pro-v1:0": {"input_per_million": 0.8, "output_per_million": 3.2}},
    "price_source": "genai-prices 0.2.5",
}


class CloudWatch:
    """Daily sums per (account, namespace, metric), paged two days at a time."""

    def __init__(self, daily: dict[tuple[str, str, str], list[float]]) -> None:
        self.daily = daily
        self.calls: list[dict[str, Any]] = []

    def get_metric_data(self, **request: Any) -> dict[str, Any]:
        self.calls.append(request)
        page = int(request.get("NextToken", "0"))
        results = []
        more = False
        for query in request["MetricDataQueries"]:
            metric = query["MetricStat"]["Metric"]
            values = self.daily.get(
                (query["AccountId"], metric["Namespace"], metric["MetricName"]), []
            )
            results.append({"Id": query["Id"], "Values": values[page * 2 : page * 2 + 2]})
            more = more or len(values) > page * 2 + 2
        return {"MetricDataResults": results, **({"NextToken": str(page + 1)} if more else {})}


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="eu-west-1")
        client.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        yield client


def run(s3: Any, cloudwatch: CloudWatch, event: dict[str, Any] = EVENT) -> dict[str, Any]:
    return index.chargeback(
        event,
        cloudwatch=lambda region: cloudwatch,
        s3_client=s3,
        env={"REPORT_BUCKET": BUCKET},
        now=NOW,
    )


def test_a_month_of_tokens_is_priced_per_model_and_reported(s3: Any) -> None:
    cloudwatch = CloudWatch(
        {
            ("666666666666", ASSISTANT, "InputTokens"): [400_000, 300_000, 300_000],
            ("666666666666", ASSISTANT, "OutputTokens"): [250_000, 250_000],
            ("666666666666", SUMMARIZER, "InputTokens"): [1_000],
        }
    )
    result = run(s3, cloudwatch)
    assert result == {"report": f"s3://{BUCKET}/2026-11/claims.json", "rows": 2, "total_usd": 2.4}
    report = json.loads(s3.get_object(Bucket=BUCKET, Key="2026-11/claims.json")["Body"].read())
    assistant, summarizer = report["rows"]
    assert (assistant["input_tokens"], assistant["output_tokens"]) == (1_000_000, 500_000)
    assert assistant["usd"] == pytest.approx(0.8 + 1.6)
    # A model without a price: its tokens, no figure, and the total says it leaves it out.
    assert (summarizer["input_tokens"], summarizer["usd"]) == (1_000, None)
    assert report["total_is_partial"] and report["unpriced_models"] == ["example.unpriced-v1:0"]
    assert report["price_source"] == "genai-prices 0.2.5"
    rows = list(
        csv.DictReader(
            io.StringIO(
                s3.get_object(Bucket=BUCKET, Key="2026-11/claims.csv")["Body"].read().decode()
            )
        )
    )
    assert [(r["use_case"], r["usd"]) for r in rows] == [
        ("claims-assistant", "2.400000"),
        ("summarizer", ""),
    ]


def test_the_metrics_are_read_in_the_lob_account_for_the_whole_month(s3: Any) -> None:
    cloudwatch = CloudWatch({})
    run(s3, cloudwatch)
    first = cloudwatch.calls[0]
    assert (first["StartTime"], first["EndTime"]) == (
        datetime(2026, 11, 1, tzinfo=UTC),
        datetime(2026, 12, 1, tzinfo=UTC),
    )
    assert {q["AccountId"] for call in cloudwatch.calls for q in call["MetricDataQueries"]} == {
        "666666666666"
    }
    assert {q["MetricStat"]["Stat"] for q in first["MetricDataQueries"]} == {"Sum"}


@pytest.mark.parametrize(
    ("month", "now", "expected"),
    [
        (
            None,
            datetime(2027, 1, 1, tzinfo=UTC),
            ("2026-12", datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)),
        ),
        (
            "2026-02",
            NOW,
            ("2026-02", datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)),
        ),
    ],
)
def test_the_month_is_the_one_before_the_run_unless_named(
    month: str | None, now: datetime, expected: tuple[str, datetime, datetime]
) -> None:
    assert index.month_window(month, now) == expected


@pytest.mark.parametrize("month", ["2026-13", "November", "2026"])
def test_a_month_that_is_not_yyyy_mm_is_refused(month: str) -> None:
    with pytest.raises(ValueError, match=f"month '{month}' is not YYYY-MM"):
        index.month_window(month, NOW)
