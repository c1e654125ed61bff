"""Records a command keeps in an assembly for its next run: written whole or not at all."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def write_whole(path: Path, value: Any) -> None:
    """``value`` as JSON at ``path``, whole or not at all (a reader never sees half a record;
    an assembly that cannot be written keeps none)."""
    temporary = path.with_suffix(".tmp")
    try:
        temporary.write_text(json.dumps(value))
        temporary.replace(path)
    except OSError:
        temporary.unlink(missing_ok=True)
