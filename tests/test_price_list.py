"""The price snapshot's generator, on small offer files written in the Price List's documented
bulk format (``formatVersion`` v1.0: products by SKU, ``terms.OnDemand`` by SKU and term)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from blueprint.assembly.cost import price_source
from blueprint.assembly.price_list import (
    NO_CHARGE,
    PRICED_USAGES,
    PricedUsage,
    PriceListError,
    generate,
    offer_reader,
    prices_from_genai_prices,
    prices_from_offer,
    provenance,
)
from blueprint.cli import main
from blueprint.model.prices import load_prices

Json = dict[str, Any]
PREFIX = {
    "eu-west-1": "EU",
    "eu-central-1": "EUC1",
    "eu-west-3": "EUW3",
    "eu-north-1": "EUN1",
    "us-east-1": "",
}
ORG = Path("environments/example.yaml")


def fixture_price(usage: PricedUsage, region: str) -> float:
    """A distinct price per usage type and region, so a mix-up shows."""
    return round(0.001 * (1 + PRICED_USAGES.index(usage)) + 0.5 * list(PREFIX).index(region), 4)


def usage_type(usage: PricedUsage, region: str) -> str:
    """As AWS bills it: KMS prefixes the region's name, the others a billing code."""
    return f"{region if usage.offer == 'awskms' else PREFIX[region]}-{usage.usage_type}".lstrip("-")


def offer_file(offer: str, region: str, usages: list[PricedUsage]) -> Json:
    products: Json = {}
    on_demand: Json = {}
    for number, usage in enumerate(usages):
        sku = f"{offer.upper()}{region.upper()}{number:04d}"
        products[sku] = {
            "sku": sku,
            "productFamily": "Test",
            "attributes": {
                "regionCode": region,
                "servicecode": offer,
                "usagetype": usage_type(usage, region),
            },
        }
        term = f"{sku}.JRTCKXETXF"
        on_demand[sku] = {
            term: {
                "offerTermCode": "JRTCKXETXF",
                "sku": sku,
                "effectiveDate": "2026-11-01T00:00:00Z",
                "priceDimensions": {
                    f"{term}.6YS6EN2CT7": {
                        "rateCode": f"{term}.6YS6EN2CT7",
                        "description": usage.key,
                        "beginRange": "0",
                        "endRange": "Inf",
                        "unit": usage.unit,
                        "pricePerUnit": {"USD": f"{fixture_price(usage, region):.10f}"},
                        "appliesTo": [],
                    }
                },
                "termAttributes": {},
            }
        }
    return {
        "formatVersion": "v1.0",
        "disclaimer": "test fixture",
        "offerCode": offer,
        "version": "20261101000000",
        "publicationDate": "2026-11-01T00:00:00Z",
        "products": products,
        "terms": {"OnDemand": on_demand},
    }


def write_offers(root: Path, regions: dict[str, list[PricedUsage]]) -> Path:
    for region, usages in regions.items():
        for offer in {u.offer for u in PRICED_USAGES}:
            path = root / offer / "current" / region / "index.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(
                json.dumps(offer_file(offer, region, [u for u in usages if u.offer == offer]))
            )
    return root


def test_every_priced_usage_type_is_read_with_its_provenance(tmp_path: Path) -> None:
    offers = write_offers(tmp_path, {r: list(PRICED_USAGES) for r in PREFIX})
    snapshot, missing = generate(offer_reader(str(offers)), list(PREFIX), load_prices())
    assert missing == []
    for region in PREFIX:
        prices = snapshot["regions"][region]
        assert set(prices) == {u.key for u in PRICED_USAGES} | set(NO_CHARGE)
        assert prices["mlflow_app_month"]["price"] == 0.0
        for usage in PRICED_USAGES:
            price = prices[usage.key]
            assert price["price"] == fixture_price(usage, region), usage.key
            assert price["usage_type"] == usage_type(usage, region)
            assert price["sku"].startswith(usage.offer.upper())
            assert (price["unit"], price["offer"]) == (usage.unit, usage.offer)
            assert price["offer_version"] == "20261101000000"
            assert price["publication_date"] == "2026-11-01T00:00:00Z"
    assert all(row["hand_typed"] == 0 for row in provenance(snapshot))


def test_a_usage_type_a_region_does_not_offer_stays_out(tmp_path: Path) -> None:
    without_large = [u for u in PRICED_USAGES if u.key != "mlflow_tracking_server_hour:Large"]
    offers = write_offers(tmp_path, {"eu-central-1": without_large})
    snapshot, missing = generate(offer_reader(str(offers)), ["eu-central-1"], load_prices())
    assert missing == ["eu-central-1: mlflow_tracking_server_hour:Large"]
    assert "mlflow_tracking_server_hour:Large" not in snapshot["regions"]["eu-central-1"]
    # Regions not asked for keep their prices.
    assert snapshot["regions"]["eu-west-1"] == load_prices()["regions"]["eu-west-1"]


def one_usage_offer(**change: Any) -> Json:
    usage = PRICED_USAGES[0]
    offer = offer_file(usage.offer, "eu-west-1", [usage])
    (sku,) = offer["products"]
    (term,) = offer["terms"]["OnDemand"][sku].values()
    (dimension,) = term["priceDimensions"].values()
    dimension.update(change)
    return offer


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"unit": "GB-Mo"}, "is priced per 'GB-Mo'; expected 'Hrs'"),
        ({"beginRange": "10"}, "has 0 on-demand first-tier prices; expected 1"),
        ({"pricePerUnit": {"EUR": "1"}}, "has no USD price"),
    ],
)
def test_a_price_the_generator_cannot_trust_is_refused(change: Json, message: str) -> None:
    with pytest.raises(PriceListError, match=message):
        prices_from_offer(one_usage_offer(**change), "eu-west-1", PRICED_USAGES[:1])


def test_two_prices_for_one_usage_type_are_refused() -> None:
    usage = PRICED_USAGES[0]
    offer = offer_file(usage.offer, "eu-west-1", [usage, usage])
    last_sku = sorted(offer["terms"]["OnDemand"])[-1]
    (term,) = offer["terms"]["OnDemand"][last_sku].values()
    (dimension,) = term["priceDimensions"].values()
    dimension["pricePerUnit"]["USD"] = "9.0"
    with pytest.raises(PriceListError, match="different prices in SKUs"):
        prices_from_offer(offer, "eu-west-1", [usage])


def test_the_cli_writes_the_snapshot_whole_or_not_at_all(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    regions = ["eu-west-1", "eu-central-1", "eu-west-3", "eu-north-1"]  # the example allows
    offers = write_offers(tmp_path / "offers", {r: list(PRICED_USAGES) for r in regions[:3]})
    out = tmp_path / "prices.json"
    out.write_text(json.dumps(load_prices()))
    before = out.read_text()
    # eu-north-1 has no offer files: nothing is written.
    assert main(["prices", "--org", str(ORG), "--offers", str(offers), "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert "eu-north-1/index.json: cannot be read" in error and "is unchanged" in error
    assert out.read_text() == before
    write_offers(tmp_path / "offers", {"eu-north-1": list(PRICED_USAGES)})
    assert main(["prices", "--org", str(ORG), "--offers", str(offers), "--out", str(out)]) == 0
    snapshot = json.loads(out.read_text())
    assert sorted(snapshot["regions"]) == sorted(regions)
    assert all(row["hand_typed"] == 0 for row in provenance(snapshot))
    # Token prices of every catalog model genai-prices knows, with the package's version.
    tokens = snapshot["token_prices"]
    assert tokens["source"].startswith("genai-prices 0.2.5")
    assert tokens["models"]["amazon.nova-pro-v1:0"]["output_per_million"] > 0


def test_a_model_genai_prices_does_not_know_is_left_out() -> None:
    prices = prices_from_genai_prices(["amazon.nova-lite-v1:0", "example.not-a-model-v9:0"])
    assert list(prices["models"]) == ["amazon.nova-lite-v1:0"]


def test_the_packaged_snapshot_says_what_is_hand_typed() -> None:
    prices = load_prices()
    for region, items in prices["regions"].items():
        for key, price in items.items():
            if price["sku"] is None:
                assert "unverified" in price["provenance"]
                assert "hand-typed" in price["provenance"] or key in NO_CHARGE
            assert key in {u.key for u in PRICED_USAGES} | set(NO_CHARGE), f"{region}: {key}"
    assert "blueprint prices" in prices["regenerate"]
    report = {"prices": {"provenance": provenance(prices), "regenerate": prices["regenerate"]}}
    assert any("hand-typed and unverified" in line for line in price_source(report))


def test_an_out_path_without_its_folder_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "missing" / "prices.json"
    assert main(["prices", "--org", str(ORG), "--offers", str(tmp_path), "--out", str(out)]) == 2
    assert f"--out {out}: no folder {out.parent}; nothing written" in capsys.readouterr().err


def test_the_markdown_table_stands_alone(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cost", "cdk.out", "--markdown", "--by-type"]) == 2
    assert "--markdown prints the table alone; allowed: --markdown, or --by-type and --compare" in (
        capsys.readouterr().err
    )
