from __future__ import annotations

import importlib.metadata

import constructs

import genai_constructs


def test_the_cdk_constructs_package_is_not_shadowed() -> None:
    assert importlib.metadata.distribution("constructs").metadata["Name"] == "constructs"
    assert constructs.Construct.__module__.startswith("constructs")
    assert "site-packages" in (constructs.__file__ or "")


def test_the_library_is_installed_under_its_own_name() -> None:
    assert importlib.metadata.version("genai-constructs") == "0.1.0"
    assert set(genai_constructs.__all__) == {
        "AccessLogBucket",
        "DataLakeZones",
        "GovernedBucket",
        "Persona",
        "PersonaRoles",
        "PlatformKey",
        "PrivateNetwork",
        "acknowledge",
    }
