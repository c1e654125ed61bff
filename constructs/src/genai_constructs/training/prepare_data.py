"""SageMaker Processing entry point: validate prompt/completion records and split them.

Reads every ``*.jsonl`` file under the input directory, keeps the records that carry a
non-empty string ``prompt`` and ``completion``, shuffles them with a fixed seed and writes
``train.jsonl`` and ``validation.jsonl``, and ``requests.jsonl``: the training prompts as the
endpoint receives them (``{"inputs": prompt}``), the baseline of its data-quality monitor.
It also writes ``dataset.json``, the run's lineage: each file it read with its size and
SHA-256, one digest over them all and the record counts, which the model card and package
record.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LOG = logging.getLogger(__name__)

Record = dict[str, str]


@dataclass(frozen=True)
class LoadResult:
    records: list[Record]
    skipped: int


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--input-dir", type=Path, default=Path("/opt/ml/processing/input"))
    parser.add_argument("--train-dir", type=Path, default=Path("/opt/ml/processing/train"))
    parser.add_argument(
        "--validation-dir", type=Path, default=Path("/opt/ml/processing/validation")
    )
    parser.add_argument("--baseline-dir", type=Path, default=Path("/opt/ml/processing/baseline"))
    parser.add_argument("--lineage-dir", type=Path, default=Path("/opt/ml/processing/lineage"))
    parser.add_argument("--validation-ratio", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    if not 0.0 <= args.validation_ratio < 1.0:
        parser.error("--validation-ratio must be in [0, 1)")
    return args


def as_record(raw: Any) -> Record | None:
    """The prompt/completion pair of one decoded line, or None when a field is missing."""
    if not isinstance(raw, dict):
        return None
    prompt, completion = raw.get("prompt"), raw.get("completion")
    if not (isinstance(prompt, str) and prompt.strip()):
        return None
    if not (isinstance(completion, str) and completion.strip()):
        return None
    return {"prompt": prompt, "completion": completion}


def load_records(input_dir: Path) -> LoadResult:
    """All valid records of the input directory's JSON Lines files, in file order."""
    records: list[Record] = []
    skipped = 0
    for path in sorted(input_dir.rglob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            try:
                record = as_record(json.loads(line))
            except json.JSONDecodeError:
                record = None
            if record is None:
                skipped += 1
            else:
                records.append(record)
    return LoadResult(records, skipped)


def split_records(
    records: Sequence[Record], validation_ratio: float, seed: int
) -> tuple[list[Record], list[Record]]:
    """A deterministic shuffle of the records, cut into (train, validation)."""
    shuffled = list(records)
    random.Random(seed).shuffle(shuffled)
    n_validation = round(len(shuffled) * validation_ratio)
    return shuffled[n_validation:], shuffled[:n_validation]


def endpoint_requests(records: Sequence[Record]) -> list[Record]:
    """The prompts in the shape of the endpoint's requests (Hugging Face TGI)."""
    return [{"inputs": record["prompt"]} for record in records]


def dataset_lineage(input_dir: Path, summary: dict[str, int]) -> dict[str, Any]:
    """Each file the run read (path, bytes, SHA-256), one digest over them all (the dataset's
    fingerprint) and the record counts."""
    files = [
        {
            "path": path.relative_to(input_dir).as_posix(),
            "bytes": path.stat().st_size,
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        }
        for path in sorted(input_dir.rglob("*.jsonl"))
    ]
    lines = "".join(f"{entry['sha256']}  {entry['path']}\n" for entry in files)
    return {
        "files": files,
        "sha256": hashlib.sha256(lines.encode()).hexdigest(),
        "records": summary,
    }


def write_jsonl(records: Sequence[Record], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = (json.dumps(record, ensure_ascii=False) + "\n" for record in records)
    path.write_text("".join(lines), encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    loaded = load_records(args.input_dir)
    if not loaded.records:
        raise ValueError(f"no valid prompt/completion records under {args.input_dir}")
    train, validation = split_records(loaded.records, args.validation_ratio, args.seed)
    write_jsonl(train, args.train_dir / "train.jsonl")
    write_jsonl(validation, args.validation_dir / "validation.jsonl")
    write_jsonl(endpoint_requests(train), args.baseline_dir / "requests.jsonl")
    summary = {"train": len(train), "validation": len(validation), "skipped": loaded.skipped}
    lineage = dataset_lineage(args.input_dir, summary)
    args.lineage_dir.mkdir(parents=True, exist_ok=True)
    (args.lineage_dir / "dataset.json").write_text(json.dumps(lineage, indent=1) + "\n")
    LOG.info("split: %s; dataset sha256 %s", json.dumps(summary), lineage["sha256"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
