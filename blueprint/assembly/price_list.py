"""The price snapshot (``prices.json``) and its generator from the AWS Price List bulk offer
files.

An offer file is one service's prices in one region, published at
``<base>/<offer code>/current/<region>/index.json`` (``formatVersion`` v1.0). ``products``
maps each SKU to its attributes, ``usagetype`` among them, prefixed by a billing code (``EU-``,
``EUC1-``) or, for KMS, the region's name. ``terms.OnDemand`` maps each SKU to its terms, each
with ``priceDimensions`` (``unit``, ``beginRange``, ``pricePerUnit.USD``).

The generator reads the files of every service in ``PRICED_USAGES`` for each region asked,
takes the first tier of the one on-demand price of each usage type, and records with it the
SKU, usage type, unit, offer version and publication date. A usage type a region does not
offer stays out of that region, and ``blueprint cost`` says so.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import urllib.request
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from blueprint.model.config import OrgConfig
from blueprint.model.prices import load_prices
from genai_constructs.gpu_memory import GPU_INSTANCES

Json = dict[str, Any]
PRICE_LIST = "https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws"
MLFLOW_SIZES = ("Small", "Medium", "Large")


@dataclass(frozen=True)
class PricedUsage:
    """One usage type the cost model prices.

    :param key: the snapshot's name of the price, e.g. ``kms_key_month``.
    :param offer: the Price List offer code, e.g. ``awskms``.
    :param usage_type: the ``usagetype`` attribute without its region prefix.
    :param unit: the unit the price dimension must have.
    """

    key: str
    offer: str
    usage_type: str
    unit: str


def _usages() -> tuple[PricedUsage, ...]:
    fixed = (
        PricedUsage("interface_endpoint_az_hour", "AmazonVPC", "VpcEndpoint-Hours", "Hrs"),
        PricedUsage("kms_key_month", "awskms", "KMS-Keys", "Keys"),
        PricedUsage("opensearch_serverless_ocu_hour", "AmazonES", "IndexingOCU", "OCU-hours"),
        PricedUsage(
            "cloudwatch_logs_ingestion_gb", "AmazonCloudWatch", "DataProcessing-Bytes", "GB"
        ),
    )
    hosts = tuple(
        PricedUsage(f"sagemaker_host_hour:{instance}", "AmazonSageMaker", f"Host:{instance}", "Hrs")
        for instance in GPU_INSTANCES
    )
    tracking = tuple(
        PricedUsage(
            f"mlflow_tracking_server_hour:{size}",
            "AmazonSageMaker",
            f"MLflow-TrackingServer-{size}",
            "Hrs",
        )
        for size in MLFLOW_SIZES
    )
    return fixed + hosts + tracking


PRICED_USAGES = _usages()
# Published as carrying no charge of their own, so in no offer file: the generator writes them
# into every region with the page that says so.
NO_CHARGE = {
    "mlflow_app_month": (
        "serverless MLflow (MLflow Apps) carries no charge of its own, its artifacts are billed "
        "as S3 storage: the launch announcement as public sources quote it (2025-12); "
        "unverified: confirm on aws.amazon.com/sagemaker/pricing"
    ),
}


class PriceListError(Exception):
    """An offer file that cannot be read, or does not say one price for a usage type."""


def regional_price(prices: Json, region: str, key: str) -> Json | None:
    """The snapshot's price ``key`` in ``region`` (what carries no charge, in every region);
    None where it has none."""
    found = prices["regions"].get(region, {}).get(key)
    if found is None and key in NO_CHARGE:
        return {"price": 0.0, "provenance": NO_CHARGE[key]}
    return dict(found) if found else None


def provenance(prices: Json) -> list[Json]:
    """Per region: how many prices came from offer files, how many are hand-typed, and the
    offer versions read (the audit report's cost section shows it)."""
    rows = []
    for region, items in sorted(prices["regions"].items()):
        versions = sorted(
            {f"{i['offer']} {i['offer_version']}" for i in items.values() if i.get("offer_version")}
        )
        rows.append(
            {
                "region": region,
                "prices": len(items),
                "from_offer_files": sum(1 for i in items.values() if i.get("sku")),
                "no_charge": sum(1 for key in items if key in NO_CHARGE),
                "hand_typed": sum(
                    1 for key, i in items.items() if not i.get("sku") and key not in NO_CHARGE
                ),
                "offer_versions": versions,
            }
        )
    return rows


# The generator -------------------------------------------------------------------------------


def offer_reader(source: str) -> Callable[[str, str], Json]:
    """Reads ``<source>/<offer>/current/<region>/index.json``: a folder, or the Price List's
    URL (the default, where it is reachable)."""

    def read(offer: str, region: str) -> Json:
        location = f"{source.rstrip('/')}/{offer}/current/{region}/index.json"
        try:
            if source.startswith("https://"):
                with urllib.request.urlopen(location, timeout=120) as response:
                    return dict(json.load(response))
            return dict(json.loads(Path(location).read_text()))
        except (OSError, ValueError) as error:
            raise PriceListError(f"{location}: cannot be read: {error}") from None

    return read


def _is_usage_type(usage_type: str, bare: str, region: str) -> bool:
    """``EU-VpcEndpoint-Hours`` is ``VpcEndpoint-Hours`` of eu-west-1: a region prefix is a
    billing code (upper-case letters and digits) and a dash, none in us-east-1 for some
    services, or the region's name and a dash (KMS: ``eu-west-1-KMS-Keys``)."""
    prefix = usage_type.removesuffix(bare)
    code = prefix.removesuffix("-")
    return prefix != usage_type and (
        prefix in ("", f"{region}-") or (code != prefix and code.isalnum() and code.isupper())
    )


def _on_demand_price(offer: Json, sku: str, usage: PricedUsage, where: str) -> Json:
    terms = offer.get("terms", {}).get("OnDemand", {}).get(sku, {})
    dimensions = [
        dimension
        for term in terms.values()
        for dimension in term.get("priceDimensions", {}).values()
        if str(dimension.get("beginRange", "0")) == "0"
    ]
    if len(dimensions) != 1:
        raise PriceListError(
            f"{where}: SKU {sku} ({usage.usage_type}) has {len(dimensions)} on-demand first-tier "
            "prices; expected 1"
        )
    dimension = dimensions[0]
    if dimension.get("unit") != usage.unit:
        raise PriceListError(
            f"{where}: SKU {sku} ({usage.usage_type}) is priced per {dimension.get('unit')!r}; "
            f"expected {usage.unit!r}"
        )
    try:
        return {"price": float(dimension["pricePerUnit"]["USD"]), "unit": usage.unit}
    except (KeyError, TypeError, ValueError):
        raise PriceListError(f"{where}: SKU {sku} has no USD price") from None


def prices_from_offer(offer: Json, region: str, usages: Iterable[PricedUsage]) -> Json:
    """The prices of ``usages`` found in one region's offer file, each with its provenance."""
    where = f"{offer.get('offerCode', '?')}/{region}"
    usage_types = {
        sku: str(product["attributes"]["usagetype"])
        for sku, product in offer.get("products", {}).items()
        if "usagetype" in product.get("attributes", {})
        and product["attributes"].get("regionCode", region) == region
    }
    found: Json = {}
    for usage in usages:
        skus = [
            sku
            for sku, used in usage_types.items()
            if _is_usage_type(used, usage.usage_type, region)
        ]
        priced = {sku: _on_demand_price(offer, sku, usage, where) for sku in skus}
        if len({p["price"] for p in priced.values()}) > 1:
            raise PriceListError(
                f"{where}: {usage.usage_type} has different prices in SKUs "
                f"{', '.join(sorted(priced))}; expected one"
            )
        if priced:
            sku = sorted(priced)[0]
            found[usage.key] = {
                **priced[sku],
                "sku": sku,
                "usage_type": usage_types[sku],
                "offer": offer.get("offerCode", usage.offer),
                "offer_version": offer.get("version"),
                "publication_date": offer.get("publicationDate"),
                "provenance": "AWS Price List bulk offer file",
            }
    return found


def generate(
    read: Callable[[str, str], Json], regions: Iterable[str], snapshot: Json
) -> tuple[Json, list[str]]:
    """``snapshot`` with the prices of ``regions`` read anew from the offer files (other
    regions kept as they were), and the usage types a region does not offer."""
    by_offer: dict[str, list[PricedUsage]] = defaultdict(list)
    for usage in PRICED_USAGES:
        by_offer[usage.offer].append(usage)
    generated = {**snapshot, "regions": dict(snapshot["regions"])}
    missing = []
    for region in regions:
        prices: Json = {}
        for offer_code, usages in by_offer.items():
            prices.update(prices_from_offer(read(offer_code, region), region, usages))
        missing += [f"{region}: {u.key}" for u in PRICED_USAGES if u.key not in prices]
        for key, source in NO_CHARGE.items():
            prices[key] = {"price": 0.0, "unit": "Month", "sku": None, "provenance": source}
        generated["regions"][region] = dict(sorted(prices.items()))
    return generated, missing


def prices_from_genai_prices(models: Iterable[str]) -> Json:
    """Per-million-token prices of Bedrock ``models`` from the pinned ``genai-prices`` package
    (its bundled data, us-east-1 list prices; no network). A model it does not know is left
    out, and the chargeback reports its tokens without a price."""
    from importlib.metadata import version

    from genai_prices import data_snapshot

    snapshot = data_snapshot.get_snapshot()
    now = datetime.now(UTC)
    priced: Json = {}
    for model in sorted(set(models)):
        try:
            _, found = snapshot.find_provider_model(model, None, "aws", None)
        except LookupError:
            continue
        price = found.get_prices(now)
        given, produced = price.input_mtok or 0, price.output_mtok or 0
        # Tiered prices (by prompt length) are left out rather than priced at one tier.
        if isinstance(given, Decimal | int) and isinstance(produced, Decimal | int):
            priced[model] = {
                "input_per_million": float(given),
                "output_per_million": float(produced),
            }
    return {
        "source": f"genai-prices {version('genai-prices')} (Bedrock on-demand, us-east-1 list "
        "prices, applied in every region)",
        "as_of": now.date().isoformat(),
        "models": priced,
    }


def write_snapshot(snapshot: Json, path: Path) -> None:
    """Whole or not at all: written to a temporary file next to ``path``, then renamed."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".json")
    with os.fdopen(handle, "w") as out:
        json.dump(snapshot, out, indent=1, sort_keys=False)
        out.write("\n")
    os.replace(temporary, path)


def regenerate(config: OrgConfig, offers: str, out: Path) -> int:
    """``blueprint prices``: every priced usage type of every region ``config`` allows, and
    the token prices of its catalog, written to ``out`` whole or not at all (exit 2 naming the
    offer file that could not be read or priced)."""
    if not out.parent.is_dir():
        print(
            f"blueprint prices: --out {out}: no folder {out.parent}; nothing written",
            file=sys.stderr,
        )
        return 2
    organization = config.organization
    regions = sorted({organization.home_region, *organization.allowed_regions})
    try:
        snapshot, missing = generate(
            offer_reader(offers), regions, load_prices(out if out.exists() else None)
        )
    except PriceListError as error:
        print(f"blueprint prices: {error}; {out} is unchanged", file=sys.stderr)
        return 2
    snapshot["token_prices"] = prices_from_genai_prices(
        model.id for model in config.catalog.bedrock
    )
    write_snapshot(snapshot, out)
    print(
        f"written {out}: {', '.join(regions)}; token prices: {snapshot['token_prices']['source']}"
    )
    for usage in missing:
        print(f"not offered: {usage} (blueprint cost shows it as not priced)")
    return 0
