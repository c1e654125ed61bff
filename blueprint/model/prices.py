"""The price snapshot (``prices.json``): regional list prices with their provenance, and the
per-token prices of the catalog's Bedrock models. ``blueprint prices`` writes it
(``blueprint.assembly.price_list``); the cost report and the chargeback read it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

Json = dict[str, Any]
PRICES = Path(__file__).with_name("prices.json")


def load_prices(path: Path | None = None) -> Json:
    return dict(json.loads((path or PRICES).read_text()))


def snapshot_token_prices(models: list[str], path: Path | None = None) -> tuple[Json, str]:
    """Per-million-token prices of ``models`` that the snapshot has, and their source."""
    snapshot = load_prices(path).get("token_prices", {"models": {}, "source": "none"})
    known = snapshot["models"]
    return {model: known[model] for model in models if model in known}, snapshot["source"]
