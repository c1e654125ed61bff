"""The monthly token chargeback of one LOB: each use case's input and output tokens in each of
its environments, priced per model, written as JSON and CSV.

It runs in the governance account, which sees the LOB accounts' metrics through the
observability sink (metrics only: no log, no prompt, no completion leaves an LOB account).
The token counts are the use cases' observed metrics (``genai_constructs.token_budget``),
read with ``AccountId`` of the environment's account.

The event (one EventBridge rule per LOB sends it on the 1st of each month):
``{"lob", "environments": [{"environment", "account", "region", "use_cases": [{"name",
"model", "namespace"}]}], "prices": {model: {"input_per_million", "output_per_million"}},
"price_source"}`` and, to run a month again, ``"month": "YYYY-MM"`` (default the month before
the run). A model without a price is reported with its tokens and ``"usd": null``, never 0.

Configuration (environment): ``REPORT_BUCKET``. Reports: ``<yyyy-mm>/<lob>.json`` and
``<yyyy-mm>/<lob>.csv``.

Runtime: Python 3.14, standard library and the boto3 shipped with Lambda.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import boto3

Json = dict[str, Any]
DAY = 86400
METRICS = {"input_tokens": "InputTokens", "output_tokens": "OutputTokens"}
COLUMNS = (
    "lob",
    "environment",
    "account",
    "use_case",
    "model",
    "input_tokens",
    "output_tokens",
    "usd",
)


def handler(event: Json, context: Any) -> Json:
    return chargeback(
        event,
        cloudwatch=lambda region: boto3.client("cloudwatch", region_name=region),
        s3_client=boto3.client("s3"),
        env=os.environ,
        now=datetime.now(UTC),
    )


def month_window(month: str | None, now: datetime) -> tuple[str, datetime, datetime]:
    """``YYYY-MM`` (default the month before ``now``) and its first and next month's instants."""
    if month is None:
        year, number = (now.year, now.month - 1) if now.month > 1 else (now.year - 1, 12)
    else:
        try:
            year, number = (int(part) for part in month.split("-"))
            datetime(year, number, 1)
        except ValueError:
            raise ValueError(f"month '{month}' is not YYYY-MM") from None
    start = datetime(year, number, 1, tzinfo=UTC)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=UTC)
    return f"{year:04d}-{number:02d}", start, end


def tokens(client: Any, account: str, namespace: str, start: datetime, end: datetime) -> Json:
    """The month's input and output tokens of one use case (daily sums, added)."""
    queries = [
        {
            "Id": key,
            "MetricStat": {
                "Metric": {"Namespace": namespace, "MetricName": metric},
                "Period": DAY,
                "Stat": "Sum",
            },
            "AccountId": account,
        }
        for key, metric in METRICS.items()
    ]
    totals = dict.fromkeys(METRICS, 0)
    token = None
    while True:
        page = client.get_metric_data(
            MetricDataQueries=queries,
            StartTime=start,
            EndTime=end,
            **({"NextToken": token} if token else {}),
        )
        for result in page["MetricDataResults"]:
            totals[result["Id"]] += int(sum(result.get("Values", [])))
        token = page.get("NextToken")
        if not token:
            return totals


def price(usage: Json, model_price: Json | None) -> float | None:
    if model_price is None:
        return None
    given = int(usage["input_tokens"]) / 1e6 * float(model_price["input_per_million"])
    produced = int(usage["output_tokens"]) / 1e6 * float(model_price["output_per_million"])
    return round(given + produced, 6)


def chargeback(
    event: Json,
    *,
    cloudwatch: Callable[[str], Any],
    s3_client: Any,
    env: Mapping[str, str],
    now: datetime,
) -> Json:
    month, start, end = month_window(event.get("month"), now)
    prices: Json = event.get("prices", {})
    rows = []
    for environment in event["environments"]:
        client = cloudwatch(environment["region"])
        for use in environment["use_cases"]:
            usage = tokens(client, environment["account"], use["namespace"], start, end)
            rows.append(
                {
                    "lob": event["lob"],
                    "environment": environment["environment"],
                    "account": environment["account"],
                    "use_case": use["name"],
                    "model": use["model"],
                    **usage,
                    "usd": price(usage, prices.get(use["model"])),
                }
            )
    priced = [row["usd"] for row in rows if row["usd"] is not None]
    report = {
        "lob": event["lob"],
        "month": month,
        "rows": rows,
        # Of the priced rows only: ``unpriced_models`` names what it leaves out.
        "total_usd": round(sum(priced), 2),
        "total_is_partial": len(priced) < len(rows),
        "unpriced_models": sorted({row["model"] for row in rows if row["usd"] is None}),
        "price_source": event.get("price_source", ""),
        "generated_at": now.isoformat(),
    }
    key = f"{month}/{event['lob']}"
    bucket = env["REPORT_BUCKET"]
    s3_client.put_object(
        Bucket=bucket, Key=f"{key}.json", Body=json.dumps(report, indent=1).encode()
    )
    s3_client.put_object(Bucket=bucket, Key=f"{key}.csv", Body=as_csv(rows).encode())
    return {
        "report": f"s3://{bucket}/{key}.json",
        "rows": len(rows),
        "total_usd": report["total_usd"],
    }


def as_csv(rows: list[Json]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "usd": "" if row["usd"] is None else f"{row['usd']:.6f}"})
    return out.getvalue()
