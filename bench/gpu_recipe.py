"""The fine-tuning recipe on one GPU: tokens/s and peak memory of a randomly initialized model
of a catalog shape, at a batch and length, under a per-GPU memory cap (the training
instance's GPU), next to the estimate `blueprint validate` makes. For the device machine
(`make bench` does not run it); `--shape tiny` checks the script itself on CPU.

    python -m bench.gpu_recipe --shape mistral-7b --batch-size 4 --max-length 512 \\
        --memory-gib 22 --steps 10 --out $OUT/recipe.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, MistralConfig, PreTrainedModel, Trainer

from genai_constructs.gpu_memory import GIB, DecoderShape, TrainingRun, estimate
from genai_constructs.training import lora_finetune

SHAPES = {
    "mistral-7b": DecoderShape(32, 4096, 14336, 32768, 32, 8),
    "tiny": DecoderShape(2, 64, 128, 512, 4, 2),
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", choices=sorted(SHAPES), default="tiny")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--lora-r", type=int, default=16)
    parser.add_argument("--gradient-checkpointing", type=lora_finetune.boolean, default=True)
    parser.add_argument("--memory-gib", type=float, default=0.0, help="0: no cap")
    parser.add_argument("--out", type=Path, default=None)
    return parser.parse_args(argv)


def model_of(shape: DecoderShape, dtype: torch.dtype) -> PreTrainedModel:
    config = MistralConfig(
        vocab_size=shape.vocab_size,
        hidden_size=shape.hidden_size,
        intermediate_size=shape.intermediate_size,
        num_hidden_layers=shape.layers,
        num_attention_heads=shape.attention_heads,
        num_key_value_heads=shape.kv_heads,
        tie_word_embeddings=shape.tied_embeddings,
    )
    torch.manual_seed(0)
    model: PreTrainedModel = AutoModelForCausalLM.from_config(config, dtype=dtype)
    return model


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cuda = torch.cuda.is_available()
    bf16 = cuda and torch.cuda.is_bf16_supported()
    if cuda and args.memory_gib:
        total = torch.cuda.get_device_properties(0).total_memory / GIB
        torch.cuda.set_per_process_memory_fraction(min(1.0, args.memory_gib / total))
    shape = SHAPES[args.shape]
    paths = ["--base-model", "-", "--train-dir", "-", "--output-dir", "-"]
    recipe = lora_finetune.parse_args(
        [
            *paths,
            *("--checkpoint-dir", "/tmp/gpu-recipe-checkpoints"),
            *("--batch-size", str(args.batch_size), "--max-length", str(args.max_length)),
            *("--lora-r", str(args.lora_r), "--lora-alpha", str(2 * args.lora_r)),
            *("--gradient-checkpointing", str(args.gradient_checkpointing).lower()),
            *("--max-steps", str(args.steps), "--save-steps", str(10 * args.steps)),
        ]
    )
    model = lora_finetune.adapt(model_of(shape, torch.bfloat16 if bf16 else torch.float32), recipe)
    generator = torch.Generator().manual_seed(0)
    tokens = (args.batch_size * args.steps, args.max_length)
    examples = [
        lora_finetune.Example(ids, ids)
        for ids in torch.randint(0, shape.vocab_size, tokens, generator=generator).tolist()
    ]
    settings = lora_finetune.training_arguments(recipe, bf16)
    settings.save_strategy = "no"
    trainer = Trainer(
        model=model,
        args=settings,
        train_dataset=examples,
        data_collator=lambda batch: lora_finetune.collate(batch, 0),
    )
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - started
    run = TrainingRun(
        args.batch_size,
        args.max_length,
        args.lora_r,
        ("q_proj", "v_proj"),
        gradient_checkpointing=args.gradient_checkpointing,
        quantized=False,
    )
    result = {
        "device": torch.cuda.get_device_name(0) if cuda else "cpu",
        "shape": args.shape,
        "batch_size": args.batch_size,
        "max_length": args.max_length,
        "gradient_checkpointing": args.gradient_checkpointing,
        "memory_cap_gib": args.memory_gib or None,
        "tokens_per_second": round(args.steps * args.batch_size * args.max_length / seconds, 1),
        "peak_gib": round(torch.cuda.max_memory_allocated() / GIB, 2) if cuda else None,
        "estimate_gib": round(estimate(shape, run, bf16=bf16 or not cuda).total_gib, 2),
        "torch": torch.__version__,
    }
    text = json.dumps(result, indent=2)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
