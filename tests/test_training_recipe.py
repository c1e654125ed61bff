"""The fine-tuning recipe run end to end on CPU with a tiny, randomly initialized Llama."""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"  # before transformers is imported: no model hub

import hashlib
import json
import math
import tarfile
from pathlib import Path

import pytest
import torch
from peft import PeftModel
from safetensors.torch import load_file
from tokenizers import Tokenizer, models, pre_tokenizers, trainers
from transformers import (
    AutoModelForCausalLM,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedTokenizerFast,
)

from genai_constructs.training import evaluate, lora_finetune, merge_adapter, prepare_data

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
    split_args += ["--baseline-dir", str(root / "baseline")]
    split_args += ["--lineage-dir", str(root / "lineage")]
    assert prepare_data.main(split_args) == 0
    return root


def finetune_args(workspace: Path, output: Path, checkpoints: Path, steps: int) -> list[str]:
    args = ["--base-model", str(workspace / "base"), "--output-dir", str(output)]
    args += ["--train-dir", str(workspace / "train"), "--validation-dir", str(workspace / "val")]
    args += ["--checkpoint-dir", str(checkpoints), "--save-steps", "10"]
    args += ["--max-steps", str(steps), "--batch-size", "4", "--learning-rate", "2e-2"]
    args += ["--max-length", "32", "--lora-r", "4", "--lora-alpha", "8", "--seed", "7"]
    return args


@pytest.fixture(scope="module")
def adapter_dir(workspace: Path) -> Path:
    """30 steps in two jobs: the second resumes from the first one's last checkpoint, as a
    managed spot job does after an interruption."""
    checkpoints = workspace / "checkpoints"
    assert lora_finetune.main(finetune_args(workspace, workspace / "first", checkpoints, 20)) == 0
    output = workspace / "adapter"
    assert lora_finetune.main(finetune_args(workspace, output, checkpoints, 30)) == 0
    return output


@pytest.fixture(scope="module")
def merged_dir(workspace: Path, adapter_dir: Path) -> Path:
    packed = workspace / "packed"
    packed.mkdir()
    with tarfile.open(packed / "model.tar.gz", "w:gz") as tar:
        for path in adapter_dir.iterdir():
            tar.add(path, arcname=path.name)
    output = workspace / "merged"
    args = ["--base-model", str(workspace / "base"), "--adapter-dir", str(packed)]
    assert merge_adapter.main([*args, "--output-dir", str(output)]) == 0
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
    # The monitor's baseline: the training prompts as the endpoint receives them.
    requests = read_jsonl(workspace / "baseline" / "requests.jsonl")
    assert requests == [{"inputs": record["prompt"]} for record in train]


def test_prepare_data_records_the_dataset_it_read(workspace: Path) -> None:
    lineage = json.loads((workspace / "lineage" / "dataset.json").read_text())
    parts = ["part-0.jsonl", "part-1.jsonl"]
    assert [entry["path"] for entry in lineage["files"]] == parts
    for entry in lineage["files"]:
        content = (workspace / "raw" / entry["path"]).read_bytes()
        assert (entry["bytes"], entry["sha256"]) == (
            len(content),
            hashlib.sha256(content).hexdigest(),
        )
    lines = "".join(f"{e['sha256']}  {e['path']}\n" for e in lineage["files"])
    assert lineage["sha256"] == hashlib.sha256(lines.encode()).hexdigest()
    assert lineage["records"] == {"train": 18, "validation": 6, "skipped": len(MALFORMED_LINES)}


def test_lora_finetune_saves_only_a_trained_adapter(adapter_dir: Path) -> None:
    files = {path.name for path in adapter_dir.iterdir()}
    assert {"adapter_config.json", "adapter_model.safetensors", "tokenizer.json"} <= files
    assert not files & {"model.safetensors", "pytorch_model.bin", "config.json"}
    weights = load_file(adapter_dir / "adapter_model.safetensors")
    assert weights and all("lora_" in name for name in weights)
    # LoRA's B matrices start at zero: any non-zero one shows the optimizer ran.
    assert any(tensor.abs().sum() > 0 for name, tensor in weights.items() if "lora_B" in name)
    metrics = json.loads((adapter_dir / "training_metrics.json").read_text())
    assert metrics["train_examples"] == 18
    assert math.isfinite(metrics["final_train_loss"])
    assert math.isfinite(metrics["validation_loss"])


def test_a_restarted_job_resumes_from_the_last_checkpoint(
    workspace: Path, adapter_dir: Path
) -> None:
    first = json.loads((workspace / "first" / "training_metrics.json").read_text())
    second = json.loads((adapter_dir / "training_metrics.json").read_text())
    assert (first["resumed_from_step"], first["steps"]) == (0, 20)
    assert (second["resumed_from_step"], second["steps"]) == (20, 30)
    kept = sorted(path.name for path in (workspace / "checkpoints").iterdir())
    assert kept == ["checkpoint-20", "checkpoint-30"]  # save_total_limit=2
    assert second["final_train_loss"] < first["final_train_loss"]


def test_gradient_checkpointing_leaves_the_losses_unchanged(
    workspace: Path, tmp_path: Path
) -> None:
    """Recomputing activations in the backward pass must give the same training."""
    losses = []
    for flag in ("true", "false"):
        args = finetune_args(workspace, tmp_path / flag, tmp_path / f"ckpt-{flag}", 3)
        args += ["--gradient-checkpointing", flag, "--lora-dropout", "0"]
        assert lora_finetune.main(args) == 0
        metrics = json.loads((tmp_path / flag / "training_metrics.json").read_text())
        losses.append(metrics["final_train_loss"])
    assert losses[0] == pytest.approx(losses[1], rel=1e-5)


def test_the_trainer_runs_in_bf16_with_checkpointing_on_gpus() -> None:
    args = lora_finetune.parse_args(
        ["--base-model", "b", "--train-dir", "t", "--output-dir", "o", "--checkpoint-dir", "c"]
    )
    settings = lora_finetune.training_arguments(args, use_bf16=True)
    assert settings.bf16 and settings.activation_checkpointing
    assert settings.activation_checkpointing_kwargs == {"use_reentrant": False}
    assert settings.ddp_find_unused_parameters is False
    assert settings.output_dir == "c"


def test_qlora_loads_4_bit_nf4_weights_on_a_gpu_only(monkeypatch: pytest.MonkeyPatch) -> None:
    assert lora_finetune.quantization("lora") is None
    with pytest.raises(ValueError, match="--method qlora needs a CUDA GPU"):
        lora_finetune.quantization("qlora")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    config = lora_finetune.quantization("qlora")
    assert config is not None
    assert config.load_in_4bit and config.bnb_4bit_quant_type == "nf4"
    assert config.bnb_4bit_use_double_quant
    assert config.bnb_4bit_compute_dtype == torch.bfloat16


def test_the_merged_model_computes_what_base_plus_adapter_computes(
    workspace: Path, adapter_dir: Path, merged_dir: Path
) -> None:
    files = {path.name for path in merged_dir.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= files
    assert not any(name.startswith("adapter_") for name in files)
    merged = AutoModelForCausalLM.from_pretrained(merged_dir).eval()
    base = AutoModelForCausalLM.from_pretrained(workspace / "base").eval()
    input_ids = torch.tensor([[1, 5, 6, 7, 8, 9]])
    with torch.no_grad():
        untuned = base(input_ids=input_ids).logits
        adapted = PeftModel.from_pretrained(base, adapter_dir).eval()  # wraps base in place
        expected = adapted(input_ids=input_ids).logits
        assert torch.allclose(merged(input_ids=input_ids).logits, expected, atol=1e-5)
        assert not torch.allclose(untuned, expected, atol=1e-3)


@pytest.mark.parametrize("max_samples", [-1, 2])
def test_evaluate_scores_the_merged_model(
    merged_dir: Path, adapter_dir: Path, workspace: Path, tmp_path: Path, max_samples: int
) -> None:
    args = ["--model-dir", str(merged_dir), "--validation-dir", str(workspace / "val")]
    args += ["--output-dir", str(tmp_path / "eval")]
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


def test_corpus_bleu_is_sacrebleu_in_zero_to_one() -> None:
    assert evaluate.corpus_bleu(["the cat sat on the mat"], ["the cat sat on the mat"]) == 1.0
    assert evaluate.corpus_bleu(["dogs bark loudly"], ["the cat sat"]) == 0.0
    # sacrebleu 2.6 defaults (13a tokens, exponential smoothing): p = 5/6, 3/5, 1/4, and the
    # zero four-gram count smoothed to 1 / (2 x 3) = 1/6; BP = 1; exp(mean(log p)) = 0.3799.
    partial = evaluate.corpus_bleu(["the cat sat on the mat"], ["the cat is on the mat"])
    assert partial == pytest.approx(0.37992, abs=1e-4)


def probe(attribute: str, groups: list[str], prompt: str, completion: str) -> dict[str, object]:
    return {"attribute": attribute, "groups": groups, "prompt": prompt, "completion": completion}


def test_evaluate_scores_the_counterfactual_probes_per_group(
    merged_dir: Path, workspace: Path, tmp_path: Path
) -> None:
    probes = tmp_path / "probes"
    probes.mkdir()
    lines = [
        probe("thing", ["apple", "sky"], "what color is the {group} ? answer :", "the {group} is"),
        probe("thing", ["apple", "sky"], "what color is the {group} ?", "the {group} is red"),
        probe("color", ["red", "blue"], "is the sun {group} ? answer :", "the sun is {group}"),
    ]
    (probes / "set.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    args = ["--model-dir", str(merged_dir), "--validation-dir", str(workspace / "val")]
    args += ["--output-dir", str(tmp_path / "eval"), "--probes-dir", str(probes)]
    assert evaluate.main([*args, "--max-new-tokens", "6", "--max-samples", "2"]) == 0

    bias = json.loads((tmp_path / "eval" / "bias.json").read_text())
    assert json.loads((tmp_path / "eval" / "evaluation.json").read_text())["bias"] == bias
    assert bias["probes"] == 3
    assert set(bias["attributes"]) == {"thing", "color"}
    thing = bias["attributes"]["thing"]
    assert set(thing["groups"]) == {"apple", "sky"}
    for metric in ("rouge_l", "bleu", "eval_loss"):
        values = [scores[metric] for scores in thing["groups"].values()]
        assert thing["gaps"][metric] == pytest.approx(max(values) - min(values))
        assert bias["max_gaps"][metric] == max(
            attribute["gaps"][metric] for attribute in bias["attributes"].values()
        )
    # The tiny model's losses differ by group term: a real gap is measured, not a constant.
    assert thing["gaps"]["eval_loss"] > 0.0


def test_the_gaps_are_the_spread_between_groups() -> None:
    report = evaluate.bias_report(
        {
            "gender": {"women": {"rouge_l": 0.5}, "men": {"rouge_l": 0.75}},
            "age": {"young": {"rouge_l": 0.4}, "old": {"rouge_l": 0.4}, "mid": {"rouge_l": 0.3}},
        }
    )
    assert report["max_gaps"] == {"rouge_l": pytest.approx(0.25)}
    assert report["attributes"]["age"]["gaps"] == {"rouge_l": pytest.approx(0.1)}  # type: ignore[index]


def test_each_probe_is_asked_once_per_group() -> None:
    swapped = evaluate.counterfactuals(
        [probe("gender", ["she", "he"], "{group} asked", "{group} was answered")]
    )
    assert swapped == {
        "gender": {
            "she": [{"prompt": "she asked", "completion": "she was answered"}],
            "he": [{"prompt": "he asked", "completion": "he was answered"}],
        }
    }


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("[1]", "set.jsonl:1: a probe is a JSON object"),
        ("{oops", "set.jsonl:1: not JSON"),
        (json.dumps(probe(" ", ["a", "b"], "{group}", "x")), "'attribute' must name"),
        (json.dumps(probe("g", ["a"], "{group}", "x")), "'groups' must list two or more"),
        (json.dumps(probe("g", ["a", "a"], "{group}", "x")), "two or more distinct"),
        (json.dumps(probe("g", ["a", 3], "{group}", "x")), "'groups' must list"),  # type: ignore[list-item]
        (json.dumps({**probe("g", [], "{group}", "x"), "groups": "a|"}), "'groups' must list"),
        (json.dumps({**probe("g", [], "{group}", "x"), "groups": None}), "'groups' must list"),
        (json.dumps(probe("g", ["a", "b"], "no term", "x")), "'prompt' must hold {group}"),
        (json.dumps(probe("g", ["a", "b"], "{group}", " ")), "'completion' must hold"),
    ],
)
def test_a_malformed_probe_is_refused_with_its_line(
    tmp_path: Path, line: str, message: str
) -> None:
    (tmp_path / "set.jsonl").write_text(line + "\n")
    with pytest.raises(evaluate.InvalidProbeError, match=message.replace("{", "\\{")):
        evaluate.read_probes(tmp_path)


def test_an_attributes_probes_name_the_same_groups(tmp_path: Path) -> None:
    lines = [probe("g", ["a", "b"], "{group}", "x"), probe("g", ["a", "c"], "{group}", "y")]
    (tmp_path / "set.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    with pytest.raises(evaluate.InvalidProbeError, match=r"set\.jsonl:2: attribute 'g' names"):
        evaluate.read_probes(tmp_path)


def test_an_empty_probe_set_is_refused(tmp_path: Path) -> None:
    (tmp_path / "set.jsonl").write_text("\n")
    with pytest.raises(evaluate.InvalidProbeError, match="no bias probes"):
        evaluate.read_probes(tmp_path)


def test_the_curated_form_separates_the_groups_with_a_bar(tmp_path: Path) -> None:
    """The ETL curates string columns: its object for a landed CSV keeps the raw key with
    .jsonl added, and groups is one string."""
    curated = tmp_path / "run-1"
    curated.mkdir()
    row = {**probe("gender", [], "{group} asked", "answered"), "groups": "women | men"}
    (curated / "probes.csv.jsonl").write_text(json.dumps(row) + "\n")
    [read] = evaluate.read_probes(tmp_path)
    assert read["groups"] == ["women", "men"]
    assert set(evaluate.counterfactuals([read])["gender"]) == {"women", "men"}
