"""The platform's names for its resources, written into their template metadata.

``zone/curated``, ``key/data``, ``app-role/claims-assistant``: the access catalog and the audit
find a placement's resources by these names, never by logical IDs or construct paths. The
kinds are ``blueprint.model.assets.AssetKind``, which the catalog's selectors read too.
"""

from __future__ import annotations

from constructs import IConstruct

from blueprint.model.assets import AssetKind, AssetName
from blueprint.model.names import ASSET_METADATA
from genai_constructs.tree import resource_of


def mark(construct: IConstruct, kind: AssetKind, name: str) -> None:
    """Name ``construct`` (a CloudFormation resource or an L2 with one) as ``kind/name``."""
    resource = resource_of(construct)
    if resource is None:
        raise ValueError(f"mark(): '{construct.node.path}' has no CloudFormation resource")
    resource.add_metadata(ASSET_METADATA, str(AssetName(kind, name)))
