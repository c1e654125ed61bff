"""SageMaker Training entry point: LoRA fine-tuning of a causal language model.

The base model and its tokenizer are read from a local directory (the ``model`` channel);
only the LoRA adapter and the tokenizer are written to the model directory, together with
``training_metrics.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from peft import LoraConfig, get_peft_model
from torch.utils.data import DataLoader
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedTokenizerBase, set_seed

LOG = logging.getLogger(__name__)
IGNORE_INDEX = -100

Record = dict[str, str]
Batch = dict[str, torch.Tensor]


@dataclass(frozen=True)
class Example:
    input_ids: list[int]
    labels: list[int]


def env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value) if value else None


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base-model", type=Path, default=env_path("SM_CHANNEL_MODEL"))
    parser.add_argument("--train-dir", type=Path, default=env_path("SM_CHANNEL_TRAIN"))
    parser.add_argument("--validation-dir", type=Path, default=env_path("SM_CHANNEL_VALIDATION"))
    parser.add_argument("--output-dir", type=Path, default=env_path("SM_MODEL_DIR"))
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--max-steps", type=int, default=-1, help="-1: train for --epochs")
    parser.add_argument("--learning-rate", type=float, default=2e-4)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--lora-r", type=int, default=8)
    parser.add_argument("--lora-alpha", type=int, default=16)
    parser.add_argument("--lora-dropout", type=float, default=0.05)
    parser.add_argument("--target-modules", default="q_proj,v_proj")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    for name in ("base_model", "train_dir", "output_dir"):
        if getattr(args, name) is None:
            parser.error(f"--{name.replace('_', '-')} is required outside SageMaker")
    return args


def read_jsonl(directory: Path) -> list[Record]:
    paths = sorted(directory.rglob("*.jsonl"))
    lines = (line for path in paths for line in path.read_text(encoding="utf-8").splitlines())
    return [json.loads(line) for line in lines if line.strip()]


def encode_example(
    tokenizer: PreTrainedTokenizerBase, record: Record, max_length: int
) -> Example | None:
    """Token ids of prompt + completion + EOS; the prompt is masked out of the labels.

    None when truncation to ``max_length`` leaves no completion token to learn from.
    """
    bos = [tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else []
    prompt_ids = bos + tokenizer(record["prompt"], add_special_tokens=False)["input_ids"]
    completion_ids = tokenizer(record["completion"], add_special_tokens=False)["input_ids"]
    completion_ids = [*completion_ids, tokenizer.eos_token_id]
    input_ids = (prompt_ids + completion_ids)[:max_length]
    labels = ([IGNORE_INDEX] * len(prompt_ids) + completion_ids)[:max_length]
    if all(label == IGNORE_INDEX for label in labels):
        return None
    return Example(input_ids, labels)


def encode_all(
    tokenizer: PreTrainedTokenizerBase, records: Sequence[Record], max_length: int
) -> list[Example]:
    encoded = [encode_example(tokenizer, record, max_length) for record in records]
    examples = [example for example in encoded if example is not None]
    if len(examples) < len(encoded):
        LOG.warning("skipped %d records truncated to nothing", len(encoded) - len(examples))
    return examples


def collate(examples: Sequence[Example], pad_id: int) -> Batch:
    """Right-pads a batch; padding is ignored by attention and by the loss."""
    width = max(len(example.input_ids) for example in examples)

    def pad(values: list[int], fill: int) -> list[int]:
        return values + [fill] * (width - len(values))

    return {
        "input_ids": torch.tensor([pad(e.input_ids, pad_id) for e in examples]),
        "attention_mask": torch.tensor([pad([1] * len(e.input_ids), 0) for e in examples]),
        "labels": torch.tensor([pad(e.labels, IGNORE_INDEX) for e in examples]),
    }


def make_loader(
    examples: list[Example], batch_size: int, pad_id: int, seed: int | None
) -> DataLoader[Example]:
    """Shuffled batches when a seed is given, file order otherwise."""
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    return DataLoader(
        examples,
        batch_size=batch_size,
        shuffle=seed is not None,
        generator=generator,
        collate_fn=lambda batch: collate(batch, pad_id),
    )


def train(
    model: torch.nn.Module,
    loader: DataLoader[Example],
    total_steps: int,
    learning_rate: float,
    device: torch.device,
) -> list[float]:
    """Runs ``total_steps`` optimizer steps, cycling over the data; returns each step's loss."""
    params = [param for param in model.parameters() if param.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=learning_rate)
    model.train()
    losses: list[float] = []
    while len(losses) < total_steps:
        for batch in loader:
            loss = model(**{key: value.to(device) for key, value in batch.items()}).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, max_norm=1.0)
            optimizer.step()
            optimizer.zero_grad()
            losses.append(loss.item())
            LOG.info("step=%d train_loss=%.4f", len(losses), losses[-1])
            if len(losses) == total_steps:
                break
    return losses


@torch.no_grad()
def mean_loss(model: torch.nn.Module, loader: DataLoader[Example], device: torch.device) -> float:
    """Cross-entropy averaged over every completion token of the loader."""
    model.eval()
    total, tokens = 0.0, 0
    for batch in loader:
        count = int((batch["labels"][:, 1:] != IGNORE_INDEX).sum())
        loss = model(**{key: value.to(device) for key, value in batch.items()}).loss
        total += loss.item() * count
        tokens += count
    return total / tokens


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    set_seed(args.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    use_bf16 = device.type == "cuda" and torch.cuda.is_bf16_supported()

    tokenizer = AutoTokenizer.from_pretrained(args.base_model)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    train_examples = encode_all(tokenizer, read_jsonl(args.train_dir), args.max_length)
    if not train_examples:
        raise ValueError(f"no training examples under {args.train_dir}")
    loader = make_loader(train_examples, args.batch_size, tokenizer.pad_token_id, args.seed)

    base = AutoModelForCausalLM.from_pretrained(
        args.base_model, dtype=torch.bfloat16 if use_bf16 else torch.float32
    )
    lora = LoraConfig(
        r=args.lora_r,
        lora_alpha=args.lora_alpha,
        lora_dropout=args.lora_dropout,
        target_modules=[name.strip() for name in args.target_modules.split(",") if name.strip()],
        task_type="CAUSAL_LM",
    )
    model = get_peft_model(base, lora).to(device)
    total_steps = args.max_steps if args.max_steps > 0 else args.epochs * len(loader)
    losses = train(model, loader, total_steps, args.learning_rate, device)

    metrics: dict[str, float | int] = {
        "final_train_loss": losses[-1],
        "mean_train_loss": sum(losses) / len(losses),
        "steps": len(losses),
        "train_examples": len(train_examples),
    }
    if args.validation_dir is not None:
        records = read_jsonl(args.validation_dir)
        examples = encode_all(tokenizer, records, args.max_length)
        if examples:
            eval_loader = make_loader(examples, args.batch_size, tokenizer.pad_token_id, None)
            metrics["validation_loss"] = mean_loss(model, eval_loader, device)
    if not all(math.isfinite(value) for value in metrics.values()):
        raise ValueError(f"training diverged: {metrics}")

    args.output_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(args.output_dir)  # a PeftModel writes the adapter weights only
    tokenizer.save_pretrained(args.output_dir)
    (args.output_dir / "training_metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    LOG.info("metrics: %s", json.dumps(metrics))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
