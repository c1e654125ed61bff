"""Idle monthly baseline per placement (LOB environment or platform account), priced from
the regional price snapshot (``prices.json``, see ``price_list``).

The baseline is what an environment costs with no traffic: interface endpoints in every
subnet, customer managed keys, OpenSearch Serverless minimum OCUs, SageMaker endpoints at
their minimum instance count, MLflow tracking servers (MLflow Apps have no charge of their
own) and an assumed log ingestion. A line
the snapshot has no price for in the stack's region is shown as not priced, never as zero.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from blueprint.assembly.price_list import provenance, regional_price
from blueprint.assembly.reader import Assembly, AssemblyStack

Json = dict[str, Any]


def line(
    item: str, quantity: float, unit_price: float, hours: float = 1.0, *, resource_type: str
) -> Json:
    return {
        "item": item,
        "resource_type": resource_type,
        "quantity": quantity,
        "unit_price": unit_price,
        "monthly_usd": round(quantity * unit_price * hours, 2),
    }


def unpriced(item: str, reason: str, resource_type: str = "(any)") -> Json:
    """A cost the price table cannot put a figure on: shown, never counted as zero."""
    return {
        "item": item,
        "resource_type": resource_type,
        "quantity": None,
        "unit_price": None,
        "monthly_usd": None,
        "why": reason,
    }


class Pricing:
    """The snapshot's prices of one stack's region: each line priced, or said to be not."""

    def __init__(self, prices: Json, region: str) -> None:
        self.prices = prices
        self.region = region
        self.hours = float(prices["hours_per_month"])
        self.assumptions: Json = prices["assumptions"]

    def line(
        self, item: str, key: str, quantity: float, *, resource_type: str, hourly: bool = True
    ) -> Json:
        price = regional_price(self.prices, self.region, key)
        if price is None:
            return unpriced(
                item, f"the price snapshot has no {self.region} price for {key}", resource_type
            )
        hours = self.hours if hourly else 1.0
        return line(item, quantity, price["price"], hours, resource_type=resource_type)


def _props(resource: Json) -> Json:
    return dict(resource.get("Properties", {}))


def _of_type(stack: AssemblyStack, resource_type: str) -> list[Json]:
    return [r for r in stack.resources.values() if r.get("Type") == resource_type]


def endpoint_lines(stack: AssemblyStack, pricing: Pricing) -> Iterator[Json]:
    az_endpoints = sum(
        len(_props(r).get("SubnetIds", []))
        for r in _of_type(stack, "AWS::EC2::VPCEndpoint")
        if _props(r).get("VpcEndpointType") == "Interface"
    )
    if az_endpoints:
        yield pricing.line(
            "interface endpoint AZ-hours",
            "interface_endpoint_az_hour",
            az_endpoints,
            resource_type="AWS::EC2::VPCEndpoint",
        )


def kms_lines(stack: AssemblyStack, pricing: Pricing) -> Iterator[Json]:
    keys = len(_of_type(stack, "AWS::KMS::Key"))
    if keys:
        yield pricing.line(
            "KMS keys", "kms_key_month", keys, resource_type="AWS::KMS::Key", hourly=False
        )


def opensearch_lines(stack: AssemblyStack, pricing: Pricing) -> Iterator[Json]:
    minimum = pricing.assumptions["opensearch_serverless_minimum_ocus"]
    for r in _of_type(stack, "AWS::OpenSearchServerless::Collection"):
        standby = _props(r).get("StandbyReplicas", "ENABLED") == "ENABLED"
        yield pricing.line(
            f"OpenSearch Serverless OCUs ({_props(r).get('Name', '?')})",
            "opensearch_serverless_ocu_hour",
            minimum["with_standby" if standby else "without_standby"],
            resource_type="AWS::OpenSearchServerless::Collection",
        )


def _minimum_instances(variant: Json) -> int:
    scaling = variant.get("ManagedInstanceScaling", {})
    return int(scaling.get("MinInstanceCount", variant.get("InitialInstanceCount", 0)))


def sagemaker_lines(stack: AssemblyStack, pricing: Pricing) -> Iterator[Json]:
    for r in _of_type(stack, "AWS::SageMaker::EndpointConfig"):
        for variant in _props(r).get("ProductionVariants", []):
            instance_type = variant.get("InstanceType", "?")
            yield pricing.line(
                f"SageMaker {instance_type} at minimum count",
                f"sagemaker_host_hour:{instance_type}",
                _minimum_instances(variant),
                resource_type="AWS::SageMaker::EndpointConfig",
            )


def mlflow_lines(stack: AssemblyStack, pricing: Pricing) -> Iterator[Json]:
    for r in _of_type(stack, "AWS::SageMaker::MlflowTrackingServer"):
        size = _props(r).get("TrackingServerSize", "Small")
        yield pricing.line(
            f"MLflow tracking server ({size})",
            f"mlflow_tracking_server_hour:{size}",
            1,
            resource_type="AWS::SageMaker::MlflowTrackingServer",
        )


def mlflow_app_lines(stack: AssemblyStack, pricing: Pricing) -> Iterator[Json]:
    for _ in _of_type(stack, "AWS::SageMaker::MlflowApp"):
        yield pricing.line(
            "MLflow App (serverless)",
            "mlflow_app_month",
            1,
            resource_type="AWS::SageMaker::MlflowApp",
            hourly=False,
        )


def logs_lines(stack: AssemblyStack, pricing: Pricing) -> Iterator[Json]:
    groups = len(_of_type(stack, "AWS::Logs::LogGroup"))
    if groups:
        yield pricing.line(
            f"CloudWatch Logs ingestion ({groups} log groups)",
            "cloudwatch_logs_ingestion_gb",
            groups * pricing.assumptions["cloudwatch_logs_gb_per_log_group_month"],
            resource_type="AWS::Logs::LogGroup",
            hourly=False,
        )


COST_SOURCES = (
    endpoint_lines,
    kms_lines,
    opensearch_lines,
    sagemaker_lines,
    mlflow_lines,
    mlflow_app_lines,
    logs_lines,
)


def estimate_costs(assembly: Assembly, prices: Json) -> Json:
    """Idle cost per placement, each labelled from its stacks' identity."""
    lines: dict[str, list[Json]] = defaultdict(list)
    labels: dict[str, Json] = {}
    for stack in assembly.stacks:
        identity = stack.identity
        labels.setdefault(
            identity.placement,
            {
                "placement": identity.placement,
                "kind": identity.kind.value,
                "lob": identity.lob,
                "environment": identity.environment.value if identity.environment else None,
            },
        )
        pricing = Pricing(prices, stack.region)
        for source in COST_SOURCES:
            lines[identity.placement].extend(source(stack, pricing))
    rows = [
        {
            **labels[placement],
            "lines": placement_lines,
            "monthly_usd": round(
                sum(line["monthly_usd"] for line in placement_lines if line["monthly_usd"]), 2
            ),
            "unpriced": [line for line in placement_lines if line["monthly_usd"] is None],
            "priced": priced_state(placement_lines),
        }
        for placement, placement_lines in sorted(lines.items())
    ]
    return {
        "prices": {
            "currency": prices["currency"],
            "regenerate": prices["regenerate"],
            "provenance": provenance(prices),
        },
        "assumption": prices["assumptions"]["why"],
        "placements": rows,
        # The priced part only: ``unpriced_placements`` names what it leaves out.
        "total_monthly_usd": round(sum(row["monthly_usd"] for row in rows), 2),
        "unpriced_placements": [row["placement"] for row in rows if row["priced"] != "all"],
    }


def price_source(report: Json) -> list[str]:
    """Where the prices came from, one line per region of the snapshot."""
    out = []
    for row in report["prices"]["provenance"]:
        versions = (
            "; offer versions " + ", ".join(row["offer_versions"]) if row["offer_versions"] else ""
        )
        out.append(
            f"{row['region']}: {row['prices']} prices, {row['from_offer_files']} from AWS Price "
            f"List offer files, {row['no_charge']} published as no charge, "
            f"{row['hand_typed']} hand-typed and unverified{versions}"
        )
    return out


def priced_state(lines: list[Json]) -> str:
    """``all`` (every line priced, or none to price), ``partial`` or ``none``."""
    unpriced = sum(1 for line in lines if line["monthly_usd"] is None)
    if not unpriced:
        return "all"
    return "none" if unpriced == len(lines) else "partial"


def amount(row: Json) -> str:
    """A placement's idle cost as printed: never a number for what was not priced."""
    if row["priced"] == "none":
        return "not priced"
    return f"{row['monthly_usd']:,.2f}" + (" + not priced" if row["priced"] == "partial" else "")


def total_label(report: Json, what: str = "total") -> str:
    left_out = len(report["unpriced_placements"])
    return f"{what} (partial: {left_out} placement(s) not fully priced)" if left_out else what


def cost_table(report: Json) -> str:
    rows = report["placements"]
    total = f"{report['total_monthly_usd']:,.2f}" + (
        " (partial)" if report["unpriced_placements"] else ""
    )
    width = max([len("placement"), *(len(r["placement"]) for r in rows)])
    figures = max([len("idle USD/month"), len(total), *(len(amount(r)) for r in rows)])
    lines = [f"{'placement':<{width}} {'kind':<16} {'idle USD/month':>{figures}}"]
    lines += [f"{r['placement']:<{width}} {r['kind']:<16} {amount(r):>{figures}}" for r in rows]
    lines.append(f"{'total':<{width + 17}} {total:>{figures}}")
    if report["unpriced_placements"]:
        lines.append(f"{total_label(report)}: {', '.join(report['unpriced_placements'])}")
    for row in report["placements"]:
        for item in row["unpriced"]:
            lines.append(f"not priced: {row['placement']}: {item['item']}: {item['why']}")
    lines += [f"prices: {source}" for source in price_source(report)]
    lines.append(f"regenerate: {report['prices']['regenerate']}")
    lines.append(f"assumption: {report['assumption']}")
    return "\n".join(lines)


def cost_markdown(report: Json) -> str:
    """The idle cost per placement as a Markdown table (the README quotes it)."""
    total = f"{report['total_monthly_usd']:,.2f}" + (
        " (partial)" if report["unpriced_placements"] else ""
    )
    lines = ["| placement | kind | idle USD/month |", "| --- | --- | ---: |"]
    lines += [f"| {r['placement']} | {r['kind']} | {amount(r)} |" for r in report["placements"]]
    lines.append(f"| total | | {total} |")
    return "\n".join(lines)


def by_resource_type(report: Json) -> dict[str, float]:
    """The priced monthly cost of each resource type, largest first."""
    totals: dict[str, float] = defaultdict(float)
    for row in report["placements"]:
        for item in row["lines"]:
            if item["monthly_usd"] is not None:
                totals[item["resource_type"]] += item["monthly_usd"]
    return dict(sorted(((k, round(v, 2)) for k, v in totals.items()), key=lambda kv: -kv[1]))


def compare(report: Json, baseline: Json) -> list[Json]:
    """Per placement of either report: the baseline's cost, this one's and the change; no
    change where a side is missing (a new or removed placement) or not fully priced."""
    before = {row["placement"]: row for row in baseline["placements"]}
    after = {row["placement"]: row for row in report["placements"]}
    rows = []
    for placement in sorted(before.keys() | after.keys()):
        old, new = before.get(placement), after.get(placement)
        comparable = old is not None and new is not None and old["priced"] == new["priced"] == "all"
        rows.append(
            {
                "placement": placement,
                "baseline": old and amount(old),
                "now": new and amount(new),
                "change_usd": (
                    round(new["monthly_usd"] - old["monthly_usd"], 2)
                    if comparable and old is not None and new is not None
                    else None
                ),
            }
        )
    return rows


def comparison_table(rows: list[Json]) -> str:
    width = max([len("placement"), *(len(r["placement"]) for r in rows)])
    figures = max([12, *(len(r[side] or "") for r in rows for side in ("baseline", "now"))])

    def change(row: Json) -> str:
        if row["change_usd"] is not None:
            return f"{row['change_usd']:+,.2f}"
        if row["baseline"] is None:
            return "new"
        return "removed" if row["now"] is None else "not compared"

    out = [f"{'placement':<{width}} {'baseline':>{figures}} {'now':>{figures}} {'change':>12}"]
    out += [
        f"{r['placement']:<{width}} {r['baseline'] or '-':>{figures}} {r['now'] or '-':>{figures}} "
        f"{change(r):>12}"
        for r in rows
    ]
    total = sum(r["change_usd"] for r in rows if r["change_usd"] is not None)
    left_out = sum(1 for r in rows if r["change_usd"] is None)
    label = "total change, USD/month" + (
        f": of the placements compared ({left_out} not: new, removed or not fully priced)"
        if left_out
        else ""
    )
    out.append(f"{'total change':<{width + 2 * figures + 2}} {total:>+12,.2f}")
    out.append(label)
    return "\n".join(out)
