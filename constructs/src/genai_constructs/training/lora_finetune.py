"""SageMaker Training entry point: LoRA or 4-bit QLoRA fine-tuning of a causal language model.

Runs with the transformers ``Trainer`` (accelerate underneath): on every GPU of the instance
when SageMaker starts it with torchrun (data parallel), in bf16 where the GPU supports it,
with gradient checkpointing. Checkpoints go to ``--checkpoint-dir`` (SageMaker syncs
``/opt/ml/checkpoints`` with the checkpoint S3 URI), and a restarted job (managed spot
training) resumes from the last one. The base model and its tokenizer are read from a local
directory (the ``model`` channel); only the adapter, the tokenizer and
``training_metrics.json`` are written to the model directory.
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
from typing import Any

import torch
from peft import LoraConfig, PeftModel, get_peft_model, prepare_model_for_kbit_training
from torch.utils.data import DataLoader
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    BitsAndBytesConfig,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    Trainer,
    TrainingArguments,
    set_seed,
)
from transformers.trainer_utils import get_last_checkpoint

LOG = logging.getLogger(__name__)
IGNORE_INDEX = -100
SAGEMAKER_CHECKPOINTS = Path("/opt/ml/checkpoints")

Record = dict[str, str]
Batch = dict[str, torch.Tensor]


@dataclass(frozen=True)
class Example:
    input_ids: list[int]
    labels: list[int]


def env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value) if value else None


def boolean(value: str) -> bool:
    """A hyperparameter flag as SageMaker passes it: ``--name true`` or ``--name false``."""
    if value.lower() not in ("true", "false"):
        raise argparse.ArgumentTypeError(f"'{value}' is not true or false")
    return value.lower() == "true"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base-model", type=Path, default=env_path("SM_CHANNEL_MODEL"))
    parser.add_argument("--train-dir", type=Path, default=env_path("SM_CHANNEL_TRAIN"))
    parser.add_argument("--validation-dir", type=Path, default=env_path("SM_CHANNEL_VALIDATION"))
    parser.add_argument("--output-dir", type=Path, default=env_path("SM_MODEL_DIR"))
    parser.add_argument(
        "--checkpoint-dir",
        type=Path,
        default=SAGEMAKER_CHECKPOINTS if os.environ.get("SM_MODEL_DIR") else None,
    )
    parser.add_argument("--method", choices=("lora", "qlora"), default="lora")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--max-steps", type=int, default=-1, help="-1: train for --epochs")
    parser.add_argument("--save-steps", type=int, default=100)
    parser.add_argument("--learning-rate", type=float, default=2e-4)
    parser.add_argument("--batch-size", type=int, default=4, help="sequences per GPU")
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--lora-r", type=int, default=8)
    parser.add_argument("--lora-alpha", type=int, default=16)
    parser.add_argument("--lora-dropout", type=float, default=0.05)
    parser.add_argument("--target-modules", default="q_proj,v_proj")
    parser.add_argument("--gradient-checkpointing", type=boolean, default=True)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    for name in ("base_model", "train_dir", "output_dir", "checkpoint_dir"):
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


def eval_loader(examples: list[Example], batch_size: int, pad_id: int) -> DataLoader[Example]:
    return DataLoader(
        examples,  # type: ignore[arg-type]  # a list is a map-style dataset
        batch_size=batch_size,
        collate_fn=lambda batch: collate(batch, pad_id),
    )


def quantization(method: str) -> BitsAndBytesConfig | None:
    """4-bit NF4 base weights with double quantization and bf16 compute, for QLoRA."""
    if method != "qlora":
        return None
    if not torch.cuda.is_available():
        raise ValueError("--method qlora needs a CUDA GPU (bitsandbytes 4-bit kernels)")
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=torch.bfloat16,
    )


def load_model(args: argparse.Namespace, use_bf16: bool) -> PeftModel:
    """The base model with a LoRA adapter on ``--target-modules``; 4-bit under QLoRA."""
    quantized = quantization(args.method)
    options: dict[str, Any] = {"dtype": torch.bfloat16 if use_bf16 else torch.float32}
    if quantized is not None:
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        options |= {"quantization_config": quantized, "device_map": {"": local_rank}}
    base = AutoModelForCausalLM.from_pretrained(args.base_model, **options)
    if quantized is not None:
        base = prepare_model_for_kbit_training(
            base, use_gradient_checkpointing=args.gradient_checkpointing
        )
    return adapt(base, args)


def adapt(base: PreTrainedModel, args: argparse.Namespace) -> PeftModel:
    """``base`` with a LoRA adapter on ``--target-modules``, ready for checkpointing."""
    lora = LoraConfig(
        r=args.lora_r,
        lora_alpha=args.lora_alpha,
        lora_dropout=args.lora_dropout,
        target_modules=[name.strip() for name in args.target_modules.split(",") if name.strip()],
        task_type="CAUSAL_LM",
    )
    model = get_peft_model(base, lora)
    if args.gradient_checkpointing:
        # The frozen embeddings give no gradient; the checkpointed layers need one to flow.
        model.enable_input_require_grads()
    return model


def training_arguments(args: argparse.Namespace, use_bf16: bool) -> TrainingArguments:
    return TrainingArguments(
        output_dir=str(args.checkpoint_dir),
        per_device_train_batch_size=args.batch_size,
        num_train_epochs=args.epochs,
        max_steps=args.max_steps,
        learning_rate=args.learning_rate,
        max_grad_norm=1.0,
        bf16=use_bf16,
        use_cpu=not torch.cuda.is_available(),
        activation_checkpointing=args.gradient_checkpointing,
        activation_checkpointing_kwargs={"use_reentrant": False},
        ddp_find_unused_parameters=False,
        save_strategy="steps",
        save_steps=args.save_steps,
        save_total_limit=2,
        logging_steps=1,
        report_to=[],
        seed=args.seed,
        data_seed=args.seed,
        remove_unused_columns=False,
        dataloader_drop_last=False,
    )


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
    use_bf16 = torch.cuda.is_available() and torch.cuda.is_bf16_supported()

    tokenizer = AutoTokenizer.from_pretrained(args.base_model)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    train_examples = encode_all(tokenizer, read_jsonl(args.train_dir), args.max_length)
    if not train_examples:
        raise ValueError(f"no training examples under {args.train_dir}")

    model = load_model(args, use_bf16)
    trainer = Trainer(
        model=model,
        args=training_arguments(args, use_bf16),
        train_dataset=train_examples,
        data_collator=lambda batch: collate(batch, tokenizer.pad_token_id),
    )
    resume = get_last_checkpoint(str(args.checkpoint_dir)) if args.checkpoint_dir.is_dir() else None
    if resume:
        LOG.info("resuming from %s", resume)
    result = trainer.train(resume_from_checkpoint=resume)
    if not trainer.is_world_process_zero():
        return 0

    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    metrics: dict[str, float | int] = {
        "final_train_loss": losses[-1],
        "mean_train_loss": float(result.training_loss),
        "steps": trainer.state.global_step,
        "train_examples": len(train_examples),
        "resumed_from_step": int(Path(resume).name.split("-")[-1]) if resume else 0,
    }
    device = next(model.parameters()).device
    if args.validation_dir is not None:
        examples = encode_all(tokenizer, read_jsonl(args.validation_dir), args.max_length)
        if examples:
            loader = eval_loader(examples, args.batch_size, tokenizer.pad_token_id)
            metrics["validation_loss"] = mean_loss(model, loader, device)
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
