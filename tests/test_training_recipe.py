"""The fine-tuning recipe run end to end on CPU with a tiny, randomly initialized Llama."""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"  # before transformers is imported: no model hub

import json
import math
import tarfile
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from tokenizers import Tokenizer, models, pre_tokenizers, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

from ml.training import evaluate, lora_finetune, prepare_data

COLORS = ["red", "green", "blue", "yellow", "black", "white"]
THINGS = ["apple", "leaf", "sky", "sun"]
MALFORMED_LINES = [
    json.dumps({"prompt": "what color is the moon ?"}),
    json.dumps({"completion": "the moon is grey", "prompt": "  "}),
    "{not json",
]
VALIDATION_RATIO = 0.25


def make_records() -> list[dict[str, str]]:
    """24 records: every thing paired with every color."""
    return [
        {"prompt": f"what color is the {thing} ? answer :", "completion": f"the {thing} is {color}"}
        for thing in THINGS
        for color in COLORS
    ]


def build_base_model(directory: Path, corpus: list[str]) -> None:
    """A word-level tokenizer trained on the corpus and a 2-layer Llama, saved offline."""
    specials = {"pad_token": "<pad>", "unk_token": "<unk>", "bos_token": "<s>", "eos_token": "</s>"}
    backend = Tokenizer(models.WordLevel(unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    trainer = trainers.WordLevelTrainer(special_tokens=list(specials.values()))
    backend.train_from_iterator(corpus, trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, **specials)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=64,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Raw data (valid and malformed lines), its split, and the base model directory."""
    torch.set_num_threads(2)
    root = tmp_path_factory.mktemp("recipe")
    records = make_records()
    raw = root / "raw"
    raw.mkdir()
    lines = [json.dumps(record) for record in records[:12]] + MALFORMED_LINES + [""]
    (raw / "part-0.jsonl").write_text("\n".join(lines) + "\n")
    (raw / "part-1.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records[12:]))
    corpus = [f"{record['prompt']} {record['completion']}" for record in records]
    build_base_model(root / "base", corpus)
    split_args = ["--input-dir", str(raw), "--seed", "42"]
    split_args += ["--validation-ratio", str(VALIDATION_RATIO)]
    split_args += ["--train-dir", str(root / "train"), "--validation-dir", str(root / "val")]
    assert prepare_data.main(split_args) == 0
    return root


@pytest.fixture(scope="module")
def adapter_dir(workspace: Path) -> Path:
    output = workspace / "adapter"
    args = ["--base-model", str(workspace / "base"), "--output-dir", str(output)]
    args += ["--train-dir", str(workspace / "train"), "--validation-dir", str(workspace / "val")]
    args += ["--max-steps", "30", "--batch-size", "4", "--learning-rate", "1e-2"]
    args += ["--max-length", "32", "--lora-r", "4", "--lora-alpha", "8", "--seed", "7"]
    assert lora_finetune.main(args) == 0
    return output


def read_jsonl(path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_prepare_data_splits_valid_records_and_skips_malformed(workspace: Path) -> None:
    train = read_jsonl(workspace / "train" / "train.jsonl")
    validation = read_jsonl(workspace / "val" / "validation.jsonl")
    assert (len(train), len(validation)) == (18, 6)
    key = sorted(json.dumps(record, sort_keys=True) for record in make_records())
    assert sorted(json.dumps(record, sort_keys=True) for record in train + validation) == key
    loaded = prepare_data.load_records(workspace / "raw")
    assert loaded.skipped == len(MALFORMED_LINES)
    again = prepare_data.split_records(loaded.records, VALIDATION_RATIO, seed=42)
    assert again == (train, validation)


def test_lora_finetune_saves_only_a_trained_adapter(adapter_dir: Path) -> None:
    files = {path.name for path in adapter_dir.iterdir()}
    assert {"adapter_config.json", "adapter_model.safetensors", "tokenizer.json"} <= files
    assert not files & {"model.safetensors", "pytorch_model.bin", "config.json"}
    weights = load_file(adapter_dir / "adapter_model.safetensors")
    assert weights and all("lora_" in name for name in weights)
    # LoRA's B matrices start at zero: any non-zero one shows the optimizer ran.
    assert any(tensor.abs().sum() > 0 for name, tensor in weights.items() if "lora_B" in name)
    metrics = json.loads((adapter_dir / "training_metrics.json").read_text())
    assert metrics["steps"] == 30
    assert metrics["train_examples"] == 18
    assert math.isfinite(metrics["final_train_loss"])
    assert math.isfinite(metrics["validation_loss"])


@pytest.mark.parametrize(("packaging", "max_samples"), [("directory", -1), ("model.tar.gz", 2)])
def test_evaluate_writes_finite_metrics(
    workspace: Path, adapter_dir: Path, tmp_path: Path, packaging: str, max_samples: int
) -> None:
    adapter_input = adapter_dir
    if packaging == "model.tar.gz":
        adapter_input = tmp_path / "packed"
        adapter_input.mkdir()
        with tarfile.open(adapter_input / "model.tar.gz", "w:gz") as tar:
            for path in adapter_dir.iterdir():
                tar.add(path, arcname=path.name)
    args = ["--base-model", str(workspace / "base"), "--adapter-dir", str(adapter_input)]
    args += ["--validation-dir", str(workspace / "val"), "--output-dir", str(tmp_path / "eval")]
    args += ["--max-new-tokens", "6", "--max-samples", str(max_samples)]
    assert evaluate.main(args) == 0
    report = json.loads((tmp_path / "eval" / "evaluation.json").read_text())
    assert report["samples"] == (6 if max_samples < 0 else max_samples)
    values = {name: metric["value"] for name, metric in report["metrics"].items()}
    assert set(values) == {"rouge_l", "bleu", "eval_loss"}
    assert all(math.isfinite(value) for value in values.values())
    assert 0.0 <= values["rouge_l"] <= 1.0
    assert 0.0 <= values["bleu"] <= 1.0
    assert values["eval_loss"] > 0.0
    if max_samples < 0:
        # The same validation records, scored one by one here and in batches by the training job.
        trained = json.loads((adapter_dir / "training_metrics.json").read_text())
        assert values["eval_loss"] == pytest.approx(trained["validation_loss"], rel=1e-4)
        # 30 steps teach the tiny model the opening words of the completions.
        assert values["rouge_l"] > 0.0


def test_rouge_l_known_values() -> None:
    assert evaluate.rouge_l("the cat sat", "the cat sat") == 1.0
    assert evaluate.rouge_l("dogs bark", "the cat sat") == 0.0
    assert evaluate.rouge_l("", "the cat sat") == 0.0
    # LCS("the cat sat on the mat", "the cat is on the mat") = "the cat on the mat" = 5 tokens;
    # precision = recall = 5/6, so F1 = 5/6.
    partial = evaluate.rouge_l("the cat sat on the mat", "the cat is on the mat")
    assert partial == pytest.approx(5 / 6)


def test_corpus_bleu_known_values() -> None:
    assert evaluate.corpus_bleu(["the cat sat on the mat"], ["the cat sat on the mat"]) == 1.0
    assert evaluate.corpus_bleu(["the cat sat"], ["the cat sat"]) == 1.0
    assert evaluate.corpus_bleu(["dogs bark loudly"], ["the cat sat"]) == 0.0
    # "the cat sat on the mat" against "the cat is on the mat" (6 tokens each, so BP = 1):
    # p1 = 5/6 (the x2, cat, on, mat), p2 = (3+1)/(5+1) (the cat, on the, the mat),
    # p3 = (1+1)/(4+1) (on the mat), p4 = (0+1)/(3+1);
    # product = 5/6 * 2/3 * 2/5 * 1/4 = 1/18, BLEU = (1/18) ** (1/4) ~ 0.4855.
    partial = evaluate.corpus_bleu(["the cat sat on the mat"], ["the cat is on the mat"])
    assert partial == pytest.approx((1 / 18) ** 0.25)
    # A candidate of 2 tokens against 3: every precision is 1, BP = exp(1 - 3/2).
    assert evaluate.corpus_bleu(["the cat"], ["the cat sat"]) == pytest.approx(math.exp(-0.5))
