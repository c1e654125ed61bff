"""What the recipe's SageMaker jobs, and the endpoints serving its models, run on: the
SDK's container images (resolved offline), the instances of the steps, and whether an
instance type takes a volume key."""

from __future__ import annotations

from functools import cache

from genai_constructs.sagemaker_sdk import image_uri

TRAINING_IMAGE = {"transformers": "4.49.0", "pytorch": "2.5.1", "python": "py311"}
PREPARATION_IMAGE_VERSION = "1.2-1"  # SageMaker scikit-learn container (CPU)
SERVING_IMAGE_VERSION = "3.3.6"  # Hugging Face TGI (huggingface-llm) container
PROCESSING_INSTANCE = "ml.m5.2xlarge"
EVALUATION_INSTANCE = "ml.g5.2xlarge"
MERGE_VOLUME_GB = 200  # the base weights, the merged weights and room to write them
BASELINE_INSTANCE = "ml.m5.xlarge"  # the model-monitor analyzer (CPU)

# Families whose instances carry local NVMe storage: SageMaker rejects a volume KMS key there;
# the instance store is encrypted at rest by the Nitro hardware.
LOCAL_STORAGE_FAMILIES = (
    "g4dn",
    "g5",
    "g6",
    "g6e",
    "gr6",
    "p3dn",
    "p4d",
    "p4de",
    "p5",
    "p5e",
    "p5en",
    "m5d",
    "c5d",
    "r5d",
)


def volume_key(instance_type: str, key: str) -> str | None:
    """The volume key for ``instance_type``, or None where SageMaker rejects one."""
    return None if instance_type.split(".")[1] in LOCAL_STORAGE_FAMILIES else key


@cache
def training_image_uri(region: str, instance_type: str) -> str:
    return image_uri(
        "huggingface",
        region,
        version=TRAINING_IMAGE["transformers"],
        base_framework_version=f"pytorch{TRAINING_IMAGE['pytorch']}",
        py_version=TRAINING_IMAGE["python"],
        instance_type=instance_type,
        image_scope="training",
    )


@cache
def preparation_image_uri(region: str) -> str:
    """A CPU image with Python for data preparation (the script needs the standard library)."""
    return image_uri("sklearn", region, version=PREPARATION_IMAGE_VERSION)


@cache
def serving_image_uri(region: str) -> str:
    return image_uri("huggingface-llm", region, version=SERVING_IMAGE_VERSION)
