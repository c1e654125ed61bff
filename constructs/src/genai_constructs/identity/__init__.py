"""Persona roles under one permissions boundary.

The boundary is the ceiling for every role the platform creates in an account: it allows
the services a GenAI platform uses, and denies escalation (roles without the boundary,
tampering with it), the destruction of audit evidence and keys, bucket-policy changes, lifting
object lock and key grants that no AWS service asked for.

The personas and their roles (``personas``), the boundary's document (``boundary``) and the
principals that trust people and roles of other accounts (``trust``).
"""

from genai_constructs.identity.personas import Persona, PersonaRoles

__all__ = ["Persona", "PersonaRoles"]
