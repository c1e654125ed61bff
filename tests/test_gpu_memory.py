"""The GPU memory check: the estimate against measured runs, and validate's verdicts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from blueprint.model.loader import load_config
from blueprint.model.sections.catalog import ModelArchitecture
from genai_constructs.gpu_memory import GPU_INSTANCES, DecoderShape, TrainingRun, estimate
from tests.conftest import EXAMPLE
from tests.test_config import edited, example_data, problems

MISTRAL_7B = DecoderShape(
    layers=32,
    hidden_size=4096,
    intermediate_size=14336,
    vocab_size=32768,
    attention_heads=32,
    kv_heads=8,
)
FINE_TUNING = ("lobs", 0, "ml", "fine_tuning", 0)


def measured_run(batch_size: int, *, checkpointing: bool) -> TrainingRun:
    """The recipe's defaults when it was measured: 512 tokens, LoRA r=8 on q/v, bf16."""
    return TrainingRun(
        batch_size=batch_size,
        max_length=512,
        lora_r=8,
        target_modules=("q_proj", "v_proj"),
        gradient_checkpointing=checkpointing,
        quantized=False,
    )


def test_the_shape_gives_the_published_parameter_count() -> None:
    assert MISTRAL_7B.parameters == 7_248_023_552


@pytest.mark.parametrize(
    ("batch_size", "checkpointing", "measured_gib"),
    [(4, False, 25.3), (4, True, 14.9), (16, True, 18.7)],
)
def test_the_estimate_is_within_5_percent_of_the_measured_peaks(
    batch_size: int, checkpointing: bool, measured_gib: float
) -> None:
    """Peak allocated memory of the recipe on an H200, Mistral-7B-shaped random model."""
    estimated = estimate(MISTRAL_7B, measured_run(batch_size, checkpointing=checkpointing))
    assert estimated.total_gib == pytest.approx(measured_gib, rel=0.05)


def test_qlora_stores_the_linear_layers_in_4_bits() -> None:
    full = estimate(MISTRAL_7B, measured_run(4, checkpointing=True))
    quantized = estimate(
        MISTRAL_7B,
        TrainingRun(4, 512, 8, ("q_proj", "v_proj"), gradient_checkpointing=True, quantized=True),
    )
    assert quantized.weights_gib < full.weights_gib / 3
    assert quantized.activations_gib == full.activations_gib


def test_the_adapter_grows_with_its_rank_and_modules() -> None:
    small = estimate(MISTRAL_7B, measured_run(4, checkpointing=True))
    every_module = TrainingRun(
        4,
        512,
        64,
        ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"),
        gradient_checkpointing=True,
        quantized=False,
    )
    # r=64 on every projection: 167.8 M parameters, 16 bytes each.
    assert estimate(MISTRAL_7B, every_module).adapter_gib == pytest.approx(2.5, abs=0.05)
    assert small.adapter_gib < 0.06


def test_gpus_without_bf16_hold_fp32_weights() -> None:
    run = measured_run(4, checkpointing=True)
    assert estimate(MISTRAL_7B, run, bf16=False).weights_gib == pytest.approx(27.0, abs=0.05)


def test_instances_have_their_gpu_count_and_memory() -> None:
    assert GPU_INSTANCES["ml.g5.12xlarge"].gpus == 4
    assert GPU_INSTANCES["ml.g5.12xlarge"].memory_gib == 22.0
    assert GPU_INSTANCES["ml.g4dn.xlarge"].bf16 is False
    assert "ml.p4d.2xlarge" not in GPU_INSTANCES  # not a SageMaker instance type


def test_the_example_architecture_is_mistral_7b() -> None:
    example = yaml.safe_load(EXAMPLE.read_text())
    architecture = example["catalog"]["open_weights"][0]["architecture"]
    assert ModelArchitecture.model_validate(architecture).shape() == MISTRAL_7B


def with_training_instance(instance: str) -> dict:
    data = example_data()
    data["catalog"]["open_weights"][0]["training_instance"] = instance
    return data


def test_the_example_fits_the_four_a10g_of_a_g5_12xlarge(tmp_path: Path) -> None:
    data = with_training_instance("ml.g5.12xlarge")
    path = tmp_path / "org.yaml"
    path.write_text(yaml.safe_dump(data))
    assert load_config(path).catalog.open_weights[0].training_instance == "ml.g5.12xlarge"


def test_a_7b_run_on_one_16_gb_gpu_is_rejected_with_the_estimate(tmp_path: Path) -> None:
    path = tmp_path / "org.yaml"
    path.write_text(yaml.safe_dump(with_training_instance("ml.g4dn.xlarge")))
    result = subprocess.run(
        [sys.executable, "-m", "blueprint.cli", "validate", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    [line] = [line for line in result.stderr.splitlines() if "needs about" in line]
    assert f"{path}:" in line
    assert (
        "lobs[claims].ml.fine_tuning[0]: fine-tuning 'claims-summarizer' needs about 29.3 GiB"
        in line
    )
    assert "ml.g4dn.xlarge (1 x NVIDIA T4, 15 GiB, 13.5 usable)" in line


def test_turning_off_checkpointing_no_longer_fits_an_a10g(tmp_path: Path) -> None:
    data = example_data()
    data["lobs"][0]["ml"]["fine_tuning"][0]["gradient_checkpointing"] = False
    [problem] = problems(data, tmp_path)
    assert problem.startswith(
        "lobs[claims].ml.fine_tuning[0]: fine-tuning 'claims-summarizer' needs"
    )
    assert "25.4 GiB" in problem or "25.3 GiB" in problem


def test_qlora_fits_where_lora_does_not(tmp_path: Path) -> None:
    data = with_training_instance("ml.g6.xlarge")
    data["lobs"][0]["ml"]["fine_tuning"][0].update(batch_size=16, max_length=1024)
    [problem] = problems(data, tmp_path)
    assert "needs about" in problem
    data["lobs"][0]["ml"]["fine_tuning"][0].update(method="qlora", batch_size=4, max_length=512)
    path = tmp_path / "org.yaml"
    path.write_text(yaml.safe_dump(data))
    assert load_config(path).lobs[0].ml.fine_tuning[0].method == "qlora"


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (
            ("catalog", "open_weights", 0, "training_instance"),
            "ml.p4d.2xlarge",
            "not a SageMaker GPU",
        ),
        (("catalog", "open_weights", 0, "architecture", "kv_heads"), 5, "must divide"),
        ((*FINE_TUNING, "target_modules"), ["qkv"], "not a projection LoRA can adapt"),
        ((*FINE_TUNING, "retrain_schedule"), "rate(1 days)", "not an EventBridge schedule"),
        ((*FINE_TUNING, "method"), "full", "'lora' or 'qlora'"),
    ],
)
def test_fine_tuning_values_are_checked(
    path: tuple[str | int, ...], value: object, expected: str, tmp_path: Path
) -> None:
    [problem] = problems(edited(path, value), tmp_path)
    assert expected in problem
