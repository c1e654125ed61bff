"""Construct-tree reads kept per construct.

Each read of ``construct.node`` or ``node.default_child`` is a round trip to the jsii runtime
(about half a millisecond, whatever it reads), and building an organization reads the same
constructs' nodes tens of thousands of times: acknowledging findings, naming assets, labelling
stacks. A construct's node never changes, nor does the CloudFormation resource an L2 wraps
once it exists; what is kept goes with the construct.
"""

from __future__ import annotations

from weakref import WeakKeyDictionary

from aws_cdk import CfnResource
from constructs import IConstruct, Node

_NODES: WeakKeyDictionary[IConstruct, Node] = WeakKeyDictionary()
_RESOURCES: WeakKeyDictionary[IConstruct, CfnResource] = WeakKeyDictionary()


def node_of(construct: IConstruct) -> Node:
    """``construct.node``, read once."""
    node = _NODES.get(construct)
    if node is None:
        node = _NODES[construct] = construct.node
    return node


def resource_of(construct: IConstruct) -> CfnResource | None:
    """``construct`` itself when it is a CloudFormation resource, else its default child when
    that is one (``None`` while it has none)."""
    if isinstance(construct, CfnResource):
        return construct
    resource = _RESOURCES.get(construct)
    if resource is None:
        child = node_of(construct).default_child
        if not isinstance(child, CfnResource):
            return None
        resource = _RESOURCES[construct] = child
    return resource
