"""Reusable AWS CDK constructs for a governed generative-AI platform.

Import name ``genai_constructs``; the CDK's own package keeps the name ``constructs``.
"""

from genai_constructs.compliance import acknowledge
from genai_constructs.encryption import PlatformKey
from genai_constructs.identity import Persona, PersonaRoles
from genai_constructs.network import PrivateNetwork
from genai_constructs.storage import AccessLogBucket, DataLakeZones, GovernedBucket

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
