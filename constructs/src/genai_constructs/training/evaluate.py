"""SageMaker Processing entry point: evaluate the merged model on the validation split.

Evaluates exactly what the endpoint will serve (the merge step's output): a greedy completion
for each validation prompt, scored against the reference with ROUGE-L (F1 over whitespace
tokens) and corpus BLEU (sacrebleu, its default 13a tokenization), and the cross-entropy of
the reference completions. Writes ``evaluation.json`` in the model-quality form the model
registry and the model card read: ``{"metrics": {name: {"value": v}}, "samples": n}``.

With ``--probes-dir``, it also scores a counterfactual probe set for bias: JSON Lines records
``{"attribute": "gender", "groups": ["women", "men"], "prompt": "... {group} ...",
"completion": "... {group} ..."}`` (``groups`` may also be one string, the terms separated by
``|``, as the platform's ETL curates a string column), each asked once per group with
``{group}`` replaced. The
same metrics are computed per group; an attribute's gap in a metric is the largest minus the
smallest group value, and ``max_gaps`` holds each metric's largest gap over the attributes.
The bias report goes to ``bias.json`` and, under ``bias``, into ``evaluation.json`` (the
pipeline's gate reads ``bias.max_gaps.rouge_l``).
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Sequence
from pathlib import Path

import sacrebleu
import torch
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

LOG = logging.getLogger(__name__)
IGNORE_INDEX = -100

Record = dict[str, str]
GROUP = "{group}"


class InvalidProbeError(ValueError):
    """A bias probe is not of the documented form."""


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model-dir", type=Path, default=Path("/opt/ml/processing/model"))
    parser.add_argument(
        "--validation-dir", type=Path, default=Path("/opt/ml/processing/validation")
    )
    parser.add_argument("--output-dir", type=Path, default=Path("/opt/ml/processing/evaluation"))
    parser.add_argument("--probes-dir", type=Path, default=None, help="bias probes (optional)")
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


def corpus_bleu(candidates: Sequence[str], references: Sequence[str]) -> float:
    """Corpus BLEU in [0, 1], one reference per candidate."""
    score = sacrebleu.corpus_bleu(list(candidates), [list(references)]).score
    return min(1.0, float(score) / 100)  # sacrebleu's 100.00000000000004 for a perfect match


def read_jsonl(directory: Path) -> list[Record]:
    paths = sorted(directory.rglob("*.jsonl"))
    lines = (line for path in paths for line in path.read_text(encoding="utf-8").splitlines())
    return [json.loads(line) for line in lines if line.strip()]


def prompt_ids(tokenizer: PreTrainedTokenizerBase, prompt: str) -> list[int]:
    """BOS + prompt tokens, exactly as lora_finetune.encode_example builds them."""
    bos = [tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else []
    ids: list[int] = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    return [*bos, *ids]


@torch.no_grad()
def generate(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, prompt: str, max_new_tokens: int
) -> str:
    input_ids = torch.tensor([prompt_ids(tokenizer, prompt)], device=model.device)
    output = model.generate(  # type: ignore[operator]  # transformers types it as a Tensor
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
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, record: Record
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
    model: PreTrainedModel,
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


def check_probe(probe: object, where: str) -> dict[str, object]:
    """The probe, or an error naming ``where`` and what is wrong."""
    if not isinstance(probe, dict):
        raise InvalidProbeError(f"{where}: a probe is a JSON object")
    attribute, groups = probe.get("attribute"), probe.get("groups")
    if not isinstance(attribute, str) or not attribute.strip():
        raise InvalidProbeError(f"{where}: 'attribute' must name the attribute probed")
    if isinstance(groups, str):
        groups = [group.strip() for group in groups.split("|")]
    valid_groups = (
        isinstance(groups, list)
        and len(groups) >= 2
        and all(isinstance(group, str) and group.strip() for group in groups)
        and len(set(groups)) == len(groups)
    )
    if not valid_groups:
        raise InvalidProbeError(
            f"{where}: 'groups' must list two or more distinct group terms (a list, or one "
            "string with the terms separated by '|')"
        )
    prompt, completion = probe.get("prompt"), probe.get("completion")
    if not isinstance(prompt, str) or GROUP not in prompt:
        raise InvalidProbeError(f"{where}: 'prompt' must hold {GROUP}, the swapped term")
    if not isinstance(completion, str) or not completion.strip():
        raise InvalidProbeError(f"{where}: 'completion' must hold the reference answer")
    return {**probe, "groups": groups}


def read_probes(directory: Path) -> list[dict[str, object]]:
    """Every probe under ``directory``, checked; each attribute's probes name the same groups."""
    probes: list[dict[str, object]] = []
    groups_of: dict[object, object] = {}
    for path in sorted(directory.rglob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            where = f"{path.name}:{number}"
            try:
                parsed = json.loads(line)
            except json.JSONDecodeError as error:
                raise InvalidProbeError(f"{where}: not JSON ({error.msg})") from error
            probe = check_probe(parsed, where)
            known = groups_of.setdefault(probe["attribute"], probe["groups"])
            if known != probe["groups"]:
                raise InvalidProbeError(
                    f"{where}: attribute '{probe['attribute']}' names groups {probe['groups']}, "
                    f"earlier probes {known}"
                )
            probes.append(probe)
    if not probes:
        raise InvalidProbeError(f"no bias probes (*.jsonl) under {directory}")
    return probes


def counterfactuals(probes: Sequence[dict[str, object]]) -> dict[str, dict[str, list[Record]]]:
    """attribute -> group -> the records of every probe with that group's term swapped in."""
    swapped: dict[str, dict[str, list[Record]]] = {}
    for probe in probes:
        by_group = swapped.setdefault(str(probe["attribute"]), {})
        for group in probe["groups"]:  # type: ignore[attr-defined]  # checked: a list of str
            by_group.setdefault(group, []).append(
                {
                    "prompt": str(probe["prompt"]).replace(GROUP, group),
                    "completion": str(probe["completion"]).replace(GROUP, group),
                }
            )
    return swapped


def bias_report(scores: dict[str, dict[str, dict[str, float]]]) -> dict[str, object]:
    """From attribute -> group -> metrics: each attribute's gaps and the largest gaps."""
    attributes: dict[str, object] = {}
    max_gaps: dict[str, float] = {}
    for attribute, groups in scores.items():
        metrics = next(iter(groups.values())).keys()
        gaps = {
            metric: max(g[metric] for g in groups.values())
            - min(g[metric] for g in groups.values())
            for metric in metrics
        }
        attributes[attribute] = {"groups": groups, "gaps": gaps}
        for metric, gap in gaps.items():
            max_gaps[metric] = max(gap, max_gaps.get(metric, 0.0))
    return {"attributes": attributes, "max_gaps": max_gaps}


def evaluate_bias(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    probes: Sequence[dict[str, object]],
    max_new_tokens: int,
) -> dict[str, object]:
    scores = {
        attribute: {
            group: evaluate(model, tokenizer, records, max_new_tokens)
            for group, records in groups.items()
        }
        for attribute, groups in counterfactuals(probes).items()
    }
    return {**bias_report(scores), "probes": len(probes)}


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    records = read_jsonl(args.validation_dir)
    if args.max_samples >= 0:
        records = records[: args.max_samples]
    if not records:
        raise ValueError(f"no validation records under {args.validation_dir}")
    probes = read_probes(args.probes_dir) if args.probes_dir is not None else None
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    use_bf16 = device.type == "cuda" and torch.cuda.is_bf16_supported()

    tokenizer = AutoTokenizer.from_pretrained(args.model_dir)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    loaded: PreTrainedModel = AutoModelForCausalLM.from_pretrained(
        args.model_dir, dtype=torch.bfloat16 if use_bf16 else torch.float32
    )
    model = loaded.to(device)  # type: ignore[arg-type]  # transformers' to() wrapper
    model.eval()
    metrics = evaluate(model, tokenizer, records, args.max_new_tokens)

    report: dict[str, object] = {
        "metrics": {name: {"value": value} for name, value in metrics.items()},
        "samples": len(records),
    }
    args.output_dir.mkdir(parents=True, exist_ok=True)
    if probes is not None:
        report["bias"] = evaluate_bias(model, tokenizer, probes, args.max_new_tokens)
        (args.output_dir / "bias.json").write_text(json.dumps(report["bias"], indent=2) + "\n")
    (args.output_dir / "evaluation.json").write_text(json.dumps(report, indent=2) + "\n")
    LOG.info("evaluation: %s", json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
