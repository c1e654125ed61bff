"""Idle monthly baseline per placement (LOB environment or platform account), priced from
``prices.json``.

The baseline is what an environment costs with no traffic: interface endpoints in every
subnet, customer managed keys, OpenSearch Serverless minimum OCUs, SageMaker endpoints at
their minimum instance count, MLflow tracking servers and an assumed log ingestion.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from blueprint.assembly.reader import Assembly, AssemblyStack

Json = dict[str, Any]
PRICES = Path(__file__).with_name("prices.json")


def load_prices(path: Path | None = None) -> Json:
    return dict(json.loads((path or PRICES).read_text()))


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


def _props(resource: Json) -> Json:
    return dict(resource.get("Properties", {}))


def endpoint_lines(stack: AssemblyStack, prices: Json) -> Iterator[Json]:
    az_endpoints = sum(
        len(_props(r).get("SubnetIds", []))
        for r in stack.resources.values()
        if r.get("Type") == "AWS::EC2::VPCEndpoint"
        and _props(r).get("VpcEndpointType") == "Interface"
    )
    if az_endpoints:
        price = prices["items"]["interface_endpoint_az_hour"]["price"]
        yield line(
            "interface endpoint AZ-hours",
            az_endpoints,
            price,
            prices["hours_per_month"],
            resource_type="AWS::EC2::VPCEndpoint",
        )


def kms_lines(stack: AssemblyStack, prices: Json) -> Iterator[Json]:
    keys = sum(1 for r in stack.resources.values() if r.get("Type") == "AWS::KMS::Key")
    if keys:
        price = prices["items"]["kms_key_month"]["price"]
        yield line("KMS keys", keys, price, resource_type="AWS::KMS::Key")


def opensearch_lines(stack: AssemblyStack, prices: Json) -> Iterator[Json]:
    item = prices["items"]["opensearch_serverless_ocu_hour"]
    for r in stack.resources.values():
        if r.get("Type") == "AWS::OpenSearchServerless::Collection":
            standby = _props(r).get("StandbyReplicas", "ENABLED") == "ENABLED"
            ocus = item["minimum_ocus_with_standby" if standby else "minimum_ocus_without_standby"]
            name = f"OpenSearch Serverless OCUs ({_props(r).get('Name', '?')})"
            yield line(
                name,
                ocus,
                item["price"],
                prices["hours_per_month"],
                resource_type="AWS::OpenSearchServerless::Collection",
            )


def _minimum_instances(variant: Json) -> int:
    scaling = variant.get("ManagedInstanceScaling", {})
    return int(scaling.get("MinInstanceCount", variant.get("InitialInstanceCount", 0)))


def sagemaker_lines(stack: AssemblyStack, prices: Json) -> Iterator[Json]:
    by_type = prices["items"]["sagemaker_instance_hour"]["by_instance_type"]
    for r in stack.resources.values():
        if r.get("Type") != "AWS::SageMaker::EndpointConfig":
            continue
        for variant in _props(r).get("ProductionVariants", []):
            instance_type = variant.get("InstanceType", "?")
            count = _minimum_instances(variant)
            price = by_type.get(instance_type)
            name = f"SageMaker {instance_type} at minimum count"
            kind = "AWS::SageMaker::EndpointConfig"
            if price is None:
                yield unpriced(name, f"the price table has no {instance_type}", kind)
            else:
                yield line(name, count, price, prices["hours_per_month"], resource_type=kind)


def mlflow_lines(stack: AssemblyStack, prices: Json) -> Iterator[Json]:
    by_size = prices["items"]["mlflow_tracking_server_hour"]["by_size"]
    for r in stack.resources.values():
        if r.get("Type") == "AWS::SageMaker::MlflowTrackingServer":
            size = _props(r).get("TrackingServerSize", "Small")
            yield line(
                f"MLflow tracking server ({size})",
                1,
                by_size[size],
                prices["hours_per_month"],
                resource_type="AWS::SageMaker::MlflowTrackingServer",
            )


def logs_lines(stack: AssemblyStack, prices: Json) -> Iterator[Json]:
    item = prices["items"]["cloudwatch_logs_ingestion_gb"]
    groups = sum(1 for r in stack.resources.values() if r.get("Type") == "AWS::Logs::LogGroup")
    if groups:
        gigabytes = groups * item["assumed_gb_per_log_group_month"]
        yield line(
            f"CloudWatch Logs ingestion ({groups} log groups)",
            gigabytes,
            item["price"],
            resource_type="AWS::Logs::LogGroup",
        )


COST_SOURCES = (
    endpoint_lines,
    kms_lines,
    opensearch_lines,
    sagemaker_lines,
    mlflow_lines,
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
        if stack.region != prices["region"]:
            # List prices differ by region: a table of one region does not price another.
            item = unpriced(
                f"every resource in {stack.region}",
                f"the price table holds {prices['region']} prices only",
            )
            if item not in lines[identity.placement]:
                lines[identity.placement].append(item)
            continue
        for source in COST_SOURCES:
            lines[identity.placement].extend(source(stack, prices))
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
        "prices": {k: prices.get(k) for k in ("source", "as_of", "region", "currency")},
        "assumption": prices["items"]["cloudwatch_logs_ingestion_gb"]["assumption"],
        "placements": rows,
        # The priced part only: ``unpriced_placements`` names what it leaves out.
        "total_monthly_usd": round(sum(row["monthly_usd"] for row in rows), 2),
        "unpriced_placements": [row["placement"] for row in rows if row["priced"] != "all"],
    }


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
    prices = report["prices"]
    lines.append(
        f"prices: {prices['region']} list prices as of {prices['as_of']} ({prices['source']})"
    )
    lines.append(f"assumption: {report['assumption']}")
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
