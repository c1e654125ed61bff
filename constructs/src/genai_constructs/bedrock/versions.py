"""What names a published version: a short hash of its content."""

from __future__ import annotations

import hashlib
import json


def fingerprint(value: object) -> str:
    """A short, stable hash of a JSON-able value; changes whenever the value changes."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:10]
