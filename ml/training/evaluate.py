"""SageMaker Processing entry point: evaluate a LoRA adapter on the validation split.

Generates a greedy completion for each validation prompt with the base model plus the
adapter, scores it against the reference with ROUGE-L and corpus BLEU-4, measures the
cross-entropy of the reference completions, and writes ``evaluation.json``.
The metric functions are pure Python so they can be tested without a model.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import tarfile
import tempfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedTokenizerBase

LOG = logging.getLogger(__name__)
IGNORE_INDEX = -100

Record = dict[str, str]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base-model", type=Path, default=Path("/opt/ml/processing/model"))
    parser.add_argument("--adapter-dir", type=Path, default=Path("/opt/ml/processing/adapter"))
    parser.add_argument(
        "--validation-dir", type=Path, default=Path("/opt/ml/processing/validation")
    )
    parser.add_argument("--output-dir", type=Path, default=Path("/opt/ml/processing/evaluation"))
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--max-samples", type=int, default=-1, help="-1: every record")
    return parser.parse_args(argv)


def lcs_length(first: Sequence[str], second: Sequence[str]) -> int:
    """Length of the longest common subsequence, by dynamic programming over rows."""
    previous = [0] * (len(second) + 1)
    for token in first:
        current = [0]
        for j, other in enumerate(second, start=1):
            current.append(previous[j - 1] + 1 if token == other else max(previous[j], current[-1]))
        previous = current
    return previous[-1]


def rouge_l(candidate: str, reference: str) -> float:
    """ROUGE-L F1 over whitespace tokens."""
    candidate_tokens, reference_tokens = candidate.split(), reference.split()
    common = lcs_length(candidate_tokens, reference_tokens)
    if common == 0:
        return 0.0
    precision = common / len(candidate_tokens)
    recall = common / len(reference_tokens)
    return 2 * precision * recall / (precision + recall)


def ngram_counts(tokens: Sequence[str], order: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(tokens[i : i + order]) for i in range(len(tokens) - order + 1))


def corpus_bleu(candidates: Sequence[str], references: Sequence[str], max_order: int = 4) -> float:
    """Corpus BLEU over whitespace tokens, one reference per candidate.

    Clipped n-gram precisions for n = 1..max_order, geometric mean, brevity penalty
    exp(1 - r/c) when the candidates are shorter than the references. Orders n >= 2 use
    add-one smoothing (Lin and Och, 2004); unigrams do not, so no overlap at all scores 0.
    """
    matches = [0] * max_order
    totals = [0] * max_order
    candidate_length = reference_length = 0
    for candidate, reference in zip(candidates, references, strict=True):
        candidate_tokens, reference_tokens = candidate.split(), reference.split()
        candidate_length += len(candidate_tokens)
        reference_length += len(reference_tokens)
        for order in range(1, max_order + 1):
            candidate_ngrams = ngram_counts(candidate_tokens, order)
            reference_ngrams = ngram_counts(reference_tokens, order)
            matches[order - 1] += sum((candidate_ngrams & reference_ngrams).values())
            totals[order - 1] += sum(candidate_ngrams.values())
    if matches[0] == 0:
        return 0.0
    log_precision = math.log(matches[0] / totals[0]) + sum(
        math.log((matches[n] + 1) / (totals[n] + 1)) for n in range(1, max_order)
    )
    brevity_penalty = min(1.0, math.exp(1 - reference_length / candidate_length))
    return brevity_penalty * math.exp(log_precision / max_order)


def read_jsonl(directory: Path) -> list[Record]:
    paths = sorted(directory.rglob("*.jsonl"))
    lines = (line for path in paths for line in path.read_text(encoding="utf-8").splitlines())
    return [json.loads(line) for line in lines if line.strip()]


def unpack_adapter(adapter_dir: Path, workdir: Path) -> Path:
    """The adapter directory; SageMaker hands training output over as model.tar.gz."""
    archive = adapter_dir / "model.tar.gz"
    if not archive.is_file():
        return adapter_dir
    with tarfile.open(archive) as tar:
        tar.extractall(workdir, filter="data")
    return workdir


def prompt_ids(tokenizer: PreTrainedTokenizerBase, prompt: str) -> list[int]:
    """BOS + prompt tokens, exactly as lora_finetune.encode_example builds them."""
    bos = [tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else []
    return bos + tokenizer(prompt, add_special_tokens=False)["input_ids"]


@torch.no_grad()
def generate(
    model: PeftModel, tokenizer: PreTrainedTokenizerBase, prompt: str, max_new_tokens: int
) -> str:
    input_ids = torch.tensor([prompt_ids(tokenizer, prompt)], device=model.device)
    output = model.generate(
        input_ids=input_ids,
        attention_mask=torch.ones_like(input_ids),
        max_new_tokens=max_new_tokens,
        do_sample=False,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    return str(tokenizer.decode(output[0, input_ids.shape[1] :], skip_special_tokens=True)).strip()


@torch.no_grad()
def completion_loss(
    model: PeftModel, tokenizer: PreTrainedTokenizerBase, record: Record
) -> tuple[float, int]:
    """Summed cross-entropy of the reference completion (+ EOS) and its token count."""
    prompt = prompt_ids(tokenizer, record["prompt"])
    completion = tokenizer(record["completion"], add_special_tokens=False)["input_ids"]
    completion = [*completion, tokenizer.eos_token_id]
    input_ids = torch.tensor([prompt + completion], device=model.device)
    labels = torch.tensor([[IGNORE_INDEX] * len(prompt) + completion], device=model.device)
    loss = model(input_ids=input_ids, labels=labels).loss
    return loss.item() * len(completion), len(completion)


def evaluate(
    model: PeftModel,
    tokenizer: PreTrainedTokenizerBase,
    records: Sequence[Record],
    max_new_tokens: int,
) -> dict[str, float]:
    predictions = [generate(model, tokenizer, r["prompt"], max_new_tokens) for r in records]
    references = [record["completion"] for record in records]
    losses = [completion_loss(model, tokenizer, record) for record in records]
    rouge = [rouge_l(p, r) for p, r in zip(predictions, references, strict=True)]
    return {
        "rouge_l": sum(rouge) / len(rouge),
        "bleu": corpus_bleu(predictions, references),
        "eval_loss": sum(loss for loss, _ in losses) / sum(count for _, count in losses),
    }


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    records = read_jsonl(args.validation_dir)
    if args.max_samples >= 0:
        records = records[: args.max_samples]
    if not records:
        raise ValueError(f"no validation records under {args.validation_dir}")
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    use_bf16 = device.type == "cuda" and torch.cuda.is_bf16_supported()

    with tempfile.TemporaryDirectory() as workdir:
        adapter_dir = unpack_adapter(args.adapter_dir, Path(workdir))
        tokenizer = AutoTokenizer.from_pretrained(adapter_dir)
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        base = AutoModelForCausalLM.from_pretrained(
            args.base_model, dtype=torch.bfloat16 if use_bf16 else torch.float32
        )
        model = PeftModel.from_pretrained(base, adapter_dir).to(device)
    model.eval()
    metrics = evaluate(model, tokenizer, records, args.max_new_tokens)

    report = {
        "metrics": {name: {"value": value} for name, value in metrics.items()},
        "samples": len(records),
    }
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "evaluation.json").write_text(json.dumps(report, indent=2) + "\n")
    LOG.info("evaluation: %s", json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
