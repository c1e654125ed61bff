from __future__ import annotations

import importlib.metadata
import importlib.util

import constructs
import pytest

import genai_constructs
from genai_constructs import sagemaker_sdk


def test_the_cdk_constructs_package_is_not_shadowed() -> None:
    assert importlib.metadata.distribution("constructs").metadata["Name"] == "constructs"
    assert constructs.Construct.__module__.startswith("constructs")
    assert "site-packages" in (constructs.__file__ or "")


def test_the_library_is_installed_under_its_own_name() -> None:
    assert importlib.metadata.version("genai-constructs") == "0.1.0"
    assert {
        "GovernedBucket",
        "GovernedGuardrail",
        "GovernedKnowledgeBase",
        "S3VectorStore",
        "ModelAccessPolicy",
        "FineTuningPipeline",
        "GpuEndpoint",
        "ModelRelease",
        "acknowledge",
    } <= set(genai_constructs.__all__)


def test_every_public_name_imports_from_the_package() -> None:
    assert sorted(genai_constructs.__all__) == genai_constructs.__all__
    for name in genai_constructs.__all__:
        value = getattr(genai_constructs, name)
        assert value.__name__ == name
        assert value.__module__.startswith("genai_constructs.")


def test_a_missing_sagemaker_sdk_says_which_extra_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ImportError, match=r"pip install 'genai-constructs\[sagemaker\]'"):
        sagemaker_sdk.require_sdk()
