"""SageMaker GPU instances and the GPU memory a LoRA fine-tuning run needs on each GPU.

The estimate follows what ``genai_constructs/training/lora_finetune.py`` holds on one GPU
(every GPU of a multi-GPU instance holds the same: data-parallel training replicates the
model):

- the base weights: bf16 on GPUs that support it, fp32 otherwise (the recipe's choice); 4-bit
  for the linear layers under QLoRA, the embeddings kept in bf16;
- the adapter: fp32 weights, gradients and the two AdamW moments (16 bytes a parameter);
- the activations kept for the backward pass, per token of the per-GPU batch: every layer's
  (``ACTIVATION_FACTORS``) without gradient checkpointing; with it, each layer's input and one
  layer recomputed at a time;
- the logits and their loss (``LOGIT_BYTES`` a vocabulary entry a token).

The constants are fitted to runs of the recipe on a randomly initialized Mistral-7B-shaped
model (batch 4 and 16, 512 tokens, LoRA r=8 on q/v, bf16, peak allocated memory): 25.3 GiB
without checkpointing, 14.9 and 18.7 GiB with it; tests/test_gpu_memory.py holds the estimate
to those figures. The model is a decoder with a gated MLP (Llama, Mistral, Qwen, Gemma).
"""

from __future__ import annotations

from dataclasses import dataclass

GIB = 1024**3
# Bytes a token of one layer keeps for the backward pass: 2 bytes x (12 hidden + 3 MLP).
ACTIVATION_FACTORS = (12, 3)
LOGIT_BYTES = 8  # bf16 logits, their fp32 upcast for the loss, and its gradient
ADAPTER_BYTES = 16  # fp32 weight, gradient, AdamW first and second moments
# 4-bit NF4 with double quantization: half a byte a weight plus its quantization constants.
QUANTIZED_BYTES = 0.5 + 0.127 / 8
# Left on each GPU for the CUDA context, the kernels' workspace and allocator fragmentation.
RESERVED_GIB = 1.5

LORA_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass(frozen=True)
class GpuInstance:
    """A SageMaker GPU instance type: how many GPUs, which, and the memory of each."""

    gpus: int
    gpu: str
    memory_gib: float  # as the driver reports it (nvidia-smi total)
    bf16: bool


def _family(
    gpu: str, memory_gib: float, bf16: bool, counts: dict[str, int]
) -> dict[str, GpuInstance]:
    return {size: GpuInstance(n, gpu, memory_gib, bf16) for size, n in counts.items()}


_SINGLE = {"xlarge": 1, "2xlarge": 1, "4xlarge": 1, "8xlarge": 1, "16xlarge": 1}
_FAMILIES: dict[str, dict[str, GpuInstance]] = {
    "g4dn": _family("NVIDIA T4", 15.0, False, {**_SINGLE, "12xlarge": 4}),
    "g5": _family(
        "NVIDIA A10G", 22.0, True, {**_SINGLE, "12xlarge": 4, "24xlarge": 4, "48xlarge": 8}
    ),
    "g6": _family(
        "NVIDIA L4", 22.0, True, {**_SINGLE, "12xlarge": 4, "24xlarge": 4, "48xlarge": 8}
    ),
    "g6e": _family(
        "NVIDIA L40S", 44.5, True, {**_SINGLE, "12xlarge": 4, "24xlarge": 4, "48xlarge": 8}
    ),
    "gr6": _family("NVIDIA L4", 22.0, True, {"4xlarge": 1, "8xlarge": 1}),
    "p3": _family("NVIDIA V100 16 GB", 15.8, False, {"2xlarge": 1, "8xlarge": 4, "16xlarge": 8}),
    "p3dn": _family("NVIDIA V100 32 GB", 31.7, False, {"24xlarge": 8}),
    "p4d": _family("NVIDIA A100 40 GB", 39.4, True, {"24xlarge": 8}),
    "p4de": _family("NVIDIA A100 80 GB", 79.2, True, {"24xlarge": 8}),
    "p5": _family("NVIDIA H100", 79.1, True, {"48xlarge": 8}),
    "p5e": _family("NVIDIA H200", 139.8, True, {"48xlarge": 8}),
    "p5en": _family("NVIDIA H200", 139.8, True, {"48xlarge": 8}),
}
GPU_INSTANCES: dict[str, GpuInstance] = {
    f"ml.{family}.{size}": spec
    for family, sizes in _FAMILIES.items()
    for size, spec in sizes.items()
}
GPU_FAMILIES = tuple(_FAMILIES)


@dataclass(frozen=True)
class DecoderShape:
    """The shape of a decoder-only transformer with a gated MLP."""

    layers: int
    hidden_size: int
    intermediate_size: int
    vocab_size: int
    attention_heads: int
    kv_heads: int
    tied_embeddings: bool = False

    @property
    def kv_size(self) -> int:
        return self.kv_heads * self.hidden_size // self.attention_heads

    def module_shape(self, module: str) -> tuple[int, int]:
        """(in, out) features of one projection of a layer."""
        h, i, kv = self.hidden_size, self.intermediate_size, self.kv_size
        return {
            "q_proj": (h, h),
            "k_proj": (h, kv),
            "v_proj": (h, kv),
            "o_proj": (h, h),
            "gate_proj": (h, i),
            "up_proj": (h, i),
            "down_proj": (i, h),
        }[module]

    @property
    def linear_parameters(self) -> int:
        per_layer = sum(a * b for a, b in map(self.module_shape, LORA_MODULES))
        return self.layers * per_layer

    @property
    def embedding_parameters(self) -> int:
        return self.vocab_size * self.hidden_size * (1 if self.tied_embeddings else 2)

    @property
    def parameters(self) -> int:
        norms = (2 * self.layers + 1) * self.hidden_size
        return self.linear_parameters + self.embedding_parameters + norms


@dataclass(frozen=True)
class TrainingRun:
    """What one fine-tuning run puts on each GPU."""

    batch_size: int  # sequences per GPU
    max_length: int
    lora_r: int
    target_modules: tuple[str, ...]
    gradient_checkpointing: bool
    quantized: bool  # QLoRA: 4-bit base weights


@dataclass(frozen=True)
class MemoryEstimate:
    weights_gib: float
    adapter_gib: float
    activations_gib: float
    logits_gib: float

    @property
    def total_gib(self) -> float:
        return self.weights_gib + self.adapter_gib + self.activations_gib + self.logits_gib

    def describe(self) -> str:
        return (
            f"{self.total_gib:.1f} GiB (weights {self.weights_gib:.1f}, adapter and optimizer "
            f"{self.adapter_gib:.1f}, activations {self.activations_gib:.1f}, logits "
            f"{self.logits_gib:.1f})"
        )


def estimate(shape: DecoderShape, run: TrainingRun, *, bf16: bool = True) -> MemoryEstimate:
    """Peak memory one GPU needs for ``run`` on a model of ``shape``."""
    element = 2 if bf16 else 4
    if run.quantized:
        weights = (
            shape.linear_parameters * QUANTIZED_BYTES
            + (shape.parameters - shape.linear_parameters) * 2
        )
    else:
        weights = shape.parameters * element
    adapter = (
        ADAPTER_BYTES
        * shape.layers
        * sum(run.lora_r * sum(shape.module_shape(module)) for module in run.target_modules)
    )
    hidden_factor, mlp_factor = ACTIVATION_FACTORS
    per_layer = element * (hidden_factor * shape.hidden_size + mlp_factor * shape.intermediate_size)
    if run.gradient_checkpointing:
        per_token = shape.layers * shape.hidden_size * element + per_layer
    else:
        per_token = shape.layers * per_layer
    tokens = run.batch_size * run.max_length
    return MemoryEstimate(
        weights_gib=weights / GIB,
        adapter_gib=adapter / GIB,
        activations_gib=tokens * per_token / GIB,
        logits_gib=tokens * shape.vocab_size * LOGIT_BYTES / GIB,
    )


def usable_gib(instance: GpuInstance) -> float:
    return instance.memory_gib - RESERVED_GIB
