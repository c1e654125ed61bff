"""SageMaker Processing entry point: merge a LoRA adapter into its base model's weights.

The endpoint's container (Hugging Face TGI) serves full weights, so the pipeline serves what
this writes: the base model with the adapter folded in (W + B A x alpha / r), in the base
model's dtype, as safetensors shards, with the tokenizer, ready to load from a directory.
"""

from __future__ import annotations

import argparse
import json
import logging
import tarfile
import tempfile
from collections.abc import Sequence
from pathlib import Path

import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM, AutoTokenizer

LOG = logging.getLogger(__name__)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base-model", type=Path, default=Path("/opt/ml/processing/base"))
    parser.add_argument("--adapter-dir", type=Path, default=Path("/opt/ml/processing/adapter"))
    parser.add_argument("--output-dir", type=Path, default=Path("/opt/ml/processing/merged"))
    parser.add_argument("--max-shard-size", default="5GB")
    return parser.parse_args(argv)


def unpack_adapter(adapter_dir: Path, workdir: Path) -> Path:
    """The adapter directory; SageMaker hands training output over as model.tar.gz."""
    archive = adapter_dir / "model.tar.gz"
    if not archive.is_file():
        return adapter_dir
    with tarfile.open(archive) as tar:
        tar.extractall(workdir, filter="data")
    return workdir


def base_dtype(base_model: Path) -> torch.dtype:
    """The dtype the base model was published in (bf16 for most), float32 when unstated."""
    config = json.loads((base_model / "config.json").read_text())
    name = config.get("dtype") or config.get("torch_dtype") or "float32"
    dtype = getattr(torch, str(name), None)
    return dtype if isinstance(dtype, torch.dtype) else torch.float32


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    with tempfile.TemporaryDirectory() as workdir:
        adapter_dir = unpack_adapter(args.adapter_dir, Path(workdir))
        base = AutoModelForCausalLM.from_pretrained(
            args.base_model, dtype=base_dtype(args.base_model)
        )
        merged = PeftModel.from_pretrained(base, adapter_dir).merge_and_unload()
        tokenizer = AutoTokenizer.from_pretrained(adapter_dir)
        args.output_dir.mkdir(parents=True, exist_ok=True)
        merged.save_pretrained(
            args.output_dir, safe_serialization=True, max_shard_size=args.max_shard_size
        )
        tokenizer.save_pretrained(args.output_dir)
        metrics = adapter_dir / "training_metrics.json"
        if metrics.is_file():
            (args.output_dir / "training_metrics.json").write_bytes(metrics.read_bytes())
    LOG.info("merged %s into %s", args.adapter_dir, args.output_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
