"""Construct nodes read once per construct.

Each read of ``construct.node`` is a round trip to the jsii runtime (about half a
millisecond, whatever it reads), and building an organization reads the same constructs' nodes
tens of thousands of times: acknowledging findings, naming assets, finding policies. A
construct's node never changes. Its default child may (a child added later, or one set
explicitly), so that is read each time, through the kept node.
"""

from __future__ import annotations

from weakref import WeakKeyDictionary

from aws_cdk import CfnResource
from constructs import IConstruct, Node

_NODES: WeakKeyDictionary[IConstruct, Node] = WeakKeyDictionary()


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
    child = node_of(construct).default_child
    return child if isinstance(child, CfnResource) else None
