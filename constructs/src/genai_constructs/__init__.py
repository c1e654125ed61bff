"""Reusable AWS CDK constructs for a governed generative-AI platform.

Import name ``genai_constructs``; the CDK's own package keeps the name ``constructs``.
Public names load on first use, so that ``genai_constructs.naming`` (plain Python) can be
imported without starting the CDK.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from genai_constructs.compliance import acknowledge
    from genai_constructs.encryption import PlatformKey
    from genai_constructs.identity import Persona, PersonaRoles
    from genai_constructs.network import PrivateNetwork
    from genai_constructs.storage import AccessLogBucket, DataLakeZones, GovernedBucket

_MODULE_OF = {
    "AccessLogBucket": "storage",
    "DataLakeZones": "storage",
    "GovernedBucket": "storage",
    "Persona": "identity",
    "PersonaRoles": "identity",
    "PlatformKey": "encryption",
    "PrivateNetwork": "network",
    "acknowledge": "compliance",
}

__all__ = [
    "AccessLogBucket",
    "DataLakeZones",
    "GovernedBucket",
    "Persona",
    "PersonaRoles",
    "PlatformKey",
    "PrivateNetwork",
    "acknowledge",
]


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'genai_constructs' has no attribute '{name}'")
    value = getattr(importlib.import_module(f"genai_constructs.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
