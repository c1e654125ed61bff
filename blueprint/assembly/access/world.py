"""Everything that decides access in a cloud assembly, gathered from its templates.

(Over 500 lines on purpose: one reader of every template, so that each policy is read once
and in one way; the evaluator, chains and doors all ask this world.)

Roles with their identity policies, boundary and trust policy; the resource policies of
buckets, keys, topics, queues, model package groups and OpenSearch collections; the default
key of each bucket; the SCPs and RCPs with the accounts they are attached to; and the
platform's assets (zones, keys, guardrails, ...) by placement, from their metadata.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field, replace
from functools import cache, cached_property
from pathlib import Path
from typing import Any

from blueprint.assembly.access.policies import (
    Condition,
    Origin,
    PrincipalRef,
    Statement,
)
from blueprint.assembly.access.policy_documents import statements_of
from blueprint.assembly.access.resolve import Resolver
from blueprint.assembly.access.roles import Role, bootstrap_roles
from blueprint.assembly.access.symbols import UNKNOWN, Symbol, Tri, equals, text
from blueprint.assembly.reader import Assembly, AssemblyStack
from blueprint.model.names import ASSET_METADATA
from genai_constructs.naming import USER_TAG

Json = dict[str, Any]
AWS_MANAGED = Path(__file__).with_name("aws-managed")
AWS_MANAGED_PREFIX = "arn:aws:iam::aws:policy/"
# Identity Center names the role of a permission set AWSReservedSSO_<set>_<16 hex>; the hash
# is decided when it provisions the set, so any stands for it.
SIGN_IN_ROLE_SUFFIX = "0123456789abcdef"
# Resource types whose tags conditions read as aws:ResourceTag/<key> (the others the catalog
# asks about carry no tag condition in the platform's policies): functions, and the SageMaker
# resources a tenancy's fence tells apart by their LOB.
TAGGED_TYPES = {
    "AWS::Lambda::Function",
    "AWS::SageMaker::Domain",
    "AWS::SageMaker::UserProfile",
    "AWS::SageMaker::MlflowTrackingServer",
    "AWS::SageMaker::Pipeline",
    "AWS::SageMaker::ModelPackageGroup",
    "AWS::SageMaker::Endpoint",
}


def resource_arn(resolver: Resolver, stack: AssemblyStack, logical_id: str) -> Symbol:
    """The ARN requests name a resource by (a Studio user profile's is built from its
    domain's ID and its name, a Glue table's from its database's name and its own, which
    CloudFormation does not return as one attribute)."""
    resource = stack.resources[logical_id]
    if resource["Type"] == "AWS::SageMaker::UserProfile":
        return Symbol.of(
            f"arn:aws:sagemaker:{stack.region}:{stack.account}:user-profile/",
            resolver.value(stack, resource["Properties"]["DomainId"]),
            "/",
            resolver.name(stack, logical_id),
        )
    if resource["Type"] == "AWS::Glue::Table":
        return Symbol.of(
            f"arn:aws:glue:{stack.region}:{stack.account}:table/",
            resolver.value(stack, resource["Properties"]["DatabaseName"]),
            "/",
            resolver.value(stack, resource["Properties"]["TableInput"]["Name"]),
        )
    return resolver.arn(stack, logical_id)


# Resources whose policy is a property of their own (a document or its JSON text): the
# service, the property and the kind of policy.
EMBEDDED_POLICIES = {
    "AWS::SageMaker::ModelPackageGroup": (
        "sagemaker",
        "ModelPackageGroupPolicy",
        "model-package-group",
    ),
    "AWS::ECR::Repository": ("ecr", "RepositoryPolicyText", "repository"),
}


@dataclass(frozen=True)
class OrgPolicy:
    """An SCP or RCP and what it is attached to (root, OU or account IDs)."""

    kind: str
    targets: tuple[Symbol, ...]
    statements: tuple[Statement, ...]

    @cached_property
    def target_ids(self) -> frozenset[str]:
        """The targets known at synthesis (IDs given as text)."""
        return frozenset(t.text for t in self.targets if t.text is not None)


@dataclass(frozen=True)
class Asset:
    """A resource the platform names by kind and name (``zone/curated``) in a placement."""

    placement: str
    kind: str
    name: str
    stack: AssemblyStack
    logical_id: str


@dataclass(frozen=True)
class DataAccessRule:
    """One rule of an OpenSearch Serverless data access policy, for one collection."""

    where: str
    principals: tuple[Symbol, ...]
    permissions: tuple[str, ...]


@dataclass
class World:
    assembly: Assembly
    resolver: Resolver
    roles: list[Role] = field(default_factory=list)
    resource_policies: dict[tuple[str, Symbol], list[Statement]] = field(
        default_factory=lambda: defaultdict(list)
    )
    collection_access: dict[Symbol, list[DataAccessRule]] = field(
        default_factory=lambda: defaultdict(list)
    )
    collection_names: dict[Symbol, Symbol] = field(default_factory=dict)
    bucket_keys: dict[Symbol, Symbol] = field(default_factory=dict)
    bucket_accounts: dict[Symbol, str] = field(default_factory=dict)
    resource_tags: dict[Symbol, dict[str, Symbol]] = field(default_factory=dict)
    org_policies: list[OrgPolicy] = field(default_factory=list)
    management_account: str | None = None
    assets: dict[tuple[str, str, str], Asset] = field(default_factory=dict)
    sign_in_doors: list[SignInDoor] = field(default_factory=list)
    _roles_by_arn: dict[Symbol, Role] = field(default_factory=dict)
    _roles_by_name: dict[tuple[str, str], Role] = field(default_factory=dict)
    _assets_by_kind: dict[tuple[str, str], list[Asset]] = field(default_factory=dict)
    _buckets_by_name: dict[str, str] = field(default_factory=dict)

    def role(self, account: str, name: str) -> Role | None:
        return self._roles_by_name.get((account, name))

    def role_by_arn(self, arn: Symbol) -> Role | None:
        """The role whose ARN is ``arn``. Symbols are canonical (adjacent text merged), so
        one that equals another for certain is the same key."""
        return self._roles_by_arn.get(arn)

    def index(self) -> None:
        """Index the roles once every template is read."""
        self._roles_by_arn = {role.arn: role for role in self.roles}
        self._roles_by_name = {
            (role.account, role.name.text): role for role in self.roles if role.name.text
        }
        by_kind: dict[tuple[str, str], list[Asset]] = defaultdict(list)
        for (placement, kind, _), asset in self.assets.items():
            by_kind[(placement, kind)].append(asset)
        self._assets_by_kind = {
            key: sorted(found, key=lambda asset: asset.name) for key, found in by_kind.items()
        }
        self._buckets_by_name = {
            name.text: account
            for name, account in self.bucket_accounts.items()
            if name.text is not None
        }

    def asset(self, placement: str, kind: str, name: str) -> Asset | None:
        return self.assets.get((placement, kind, name))

    def assets_of(self, placement: str, kind: str) -> list[Asset]:
        return list(self._assets_by_kind.get((placement, kind), ()))

    def bucket_account(self, bucket: Symbol) -> str | None:
        """The account of the assembly's bucket named ``bucket`` (S3 ARNs name none); when
        only deploy-time names could match, the account they all share."""
        if bucket.text is not None and bucket.text in self._buckets_by_name:
            # A literal name equals that one bucket's for certain and no other literal.
            return self._buckets_by_name[bucket.text]
        for wanted in (Tri.YES, Tri.UNKNOWN):
            owners = {
                a for name, a in self.bucket_accounts.items() if equals(name, bucket) is wanted
            }
            if owners:
                return owners.pop() if len(owners) == 1 else None
        return None

    def stacks_of(self, placement: str) -> list[AssemblyStack]:
        """The stacks of ``placement``, in the assembly's order."""
        return self._stacks_by_placement.get(placement, [])

    @cached_property
    def _stacks_by_placement(self) -> dict[str, list[AssemblyStack]]:
        found: dict[str, list[AssemblyStack]] = defaultdict(list)
        for stack in self.assembly.stacks:
            found[stack.identity.placement].append(stack)
        return found

    def parameter_names(self, account: str, region: str) -> set[str]:
        """The names of the SSM parameters the stacks of ``account`` and ``region`` create."""
        return self._parameter_names.get((account, region), set())

    @cached_property
    def _parameter_names(self) -> dict[tuple[str, str], set[str]]:
        found: dict[tuple[str, str], set[str]] = defaultdict(set)
        for stack in self.assembly.stacks:
            for resource in stack.resources.values():
                name = resource.get("Properties", {}).get("Name")
                if resource.get("Type") == "AWS::SSM::Parameter" and isinstance(name, str):
                    found[(stack.account, stack.region)].add(name)
        return found

    @property
    def accounts(self) -> set[str]:
        return {stack.account for stack in self.assembly.stacks}


def build_world(assembly: Assembly) -> World:
    world = World(assembly, Resolver(assembly))
    managed: dict[tuple[str, Symbol], list[Statement]] = {}
    attachments: list[tuple[str, Symbol, list[Statement]]] = []
    for stack in assembly.stacks:
        for logical_id, resource in stack.resources.items():
            _read(world, stack, logical_id, resource, managed, attachments)
    # A name equals another for certain only when both are the same symbol (none unknown).
    by_name: dict[tuple[str, Symbol], list[Role]] = defaultdict(list)
    for role in world.roles:
        by_name[(role.account, role.name)].append(role)
    for account, role_name, statements in attachments:
        for role in by_name.get((account, role_name), []) if not role_name.unknown else []:
            role.identity.extend(statements)
    policies = _ManagedPolicies(managed)
    for role in world.roles:
        _managed_and_boundary(role, policies)
    world.roles.extend(bootstrap_roles(assembly.stacks))
    world.roles.extend(_sign_in_roles(world))
    world.index()
    return world


@dataclass(frozen=True)
class SignInDoor:
    """An Identity Center assignment: members of ``group_id`` sign in to an account as
    ``role`` (the role Identity Center creates there for the permission set)."""

    group_id: str
    permission_set: str
    role: Role


def _sign_in_roles(world: World) -> list[Role]:
    """The roles Identity Center provisions for the assembly's assignments, one per permission
    set and account: their only policy is the permission set's inline policy, and only people
    signing in become them (their trust is Identity Center's SAML provider)."""
    resolver = world.resolver
    permission_sets = {
        resolver.value(stack, {"Fn::GetAtt": [logical_id, "PermissionSetArn"]}): (
            stack,
            logical_id,
        )
        for stack in world.assembly.stacks
        for logical_id, resource in stack.resources.items()
        if resource.get("Type") == "AWS::SSO::PermissionSet"
    }
    roles: dict[tuple[str, str], Role] = {}
    for stack in world.assembly.stacks:
        for resource in stack.resources.values():
            if resource.get("Type") != "AWS::SSO::Assignment":
                continue
            props = resource.get("Properties", {})
            account = resolver.value(stack, props.get("TargetId")).text
            found = permission_sets.get(resolver.value(stack, props.get("PermissionSetArn")))
            if account is None or found is None:
                continue
            owner, logical_id = found
            permission_set = owner.resources[logical_id]["Properties"]
            name = str(permission_set.get("Name"))
            key = (account, name)
            if key not in roles:
                roles[key] = _sign_in_role(
                    resolver, owner, logical_id, account, name, permission_set
                )
            world.sign_in_doors.append(SignInDoor(str(props.get("PrincipalId")), name, roles[key]))
    return list(roles.values())


def _sign_in_role(
    resolver: Resolver,
    stack: AssemblyStack,
    logical_id: str,
    account: str,
    name: str,
    permission_set: Json,
) -> Role:
    role_name = f"AWSReservedSSO_{name}_{SIGN_IN_ROLE_SUFFIX}"
    arn = f"arn:aws:iam::{account}:role/aws-reserved/sso.amazonaws.com/{stack.region}/{role_name}"
    origin = Origin("identity", f"{stack.name}/{logical_id}")
    return Role(
        account=account,
        region=stack.region,
        name=text(role_name),
        arn=text(arn),
        where=f"identity center {stack.name}/{logical_id} in {account}",
        # Who signs in is whoever the identity source says: their user name is unknown here.
        tags={USER_TAG: UNKNOWN},
        trust=[],
        identity=statements_of(
            permission_set.get("InlinePolicy"), origin, lambda v: resolver.values(stack, v)
        ),
    )


def _read(
    world: World,
    stack: AssemblyStack,
    logical_id: str,
    resource: Json,
    managed: dict[tuple[str, Symbol], list[Statement]],
    attachments: list[tuple[str, Symbol, list[Statement]]],
) -> None:
    resolver = world.resolver
    kind = resource.get("Type", "")
    props = resource.get("Properties", {})
    where = f"{stack.name}/{logical_id}"

    def statements(document: Any, policy_kind: str) -> list[Statement]:
        return statements_of(
            document, Origin(policy_kind, where), lambda v: resolver.values(stack, v)
        )

    tags = props.get("Tags")
    if kind in TAGGED_TYPES and isinstance(tags, list):
        world.resource_tags[resource_arn(resolver, stack, logical_id)] = {
            str(tag.get("Key")): resolver.value(stack, tag.get("Value"))
            for tag in tags
            if isinstance(tag, dict)
        }
    asset = resource.get("Metadata", {}).get(ASSET_METADATA)
    if isinstance(asset, str) and "/" in asset:
        asset_kind, name = asset.split("/", 1)
        placement = stack.identity.placement
        world.assets[(placement, asset_kind, name)] = Asset(
            placement, asset_kind, name, stack, logical_id
        )
    if kind == "AWS::IAM::Role":
        _role(world, stack, logical_id, resource, statements)
    elif kind == "AWS::IAM::Policy":
        attached = statements(props.get("PolicyDocument"), "identity")
        for role in props.get("Roles", []):
            attachments.append((stack.account, resolver.value(stack, role), attached))
    elif kind == "AWS::IAM::ManagedPolicy":
        attached = statements(props.get("PolicyDocument"), "identity")
        managed[(stack.account, resolver.arn(stack, logical_id))] = attached
        for role in props.get("Roles", []):
            attachments.append((stack.account, resolver.value(stack, role), attached))
    elif kind == "AWS::S3::BucketPolicy":
        bucket = resolver.value(stack, props.get("Bucket"))
        world.resource_policies[("s3", bucket)] += statements(props.get("PolicyDocument"), "bucket")
    elif kind == "AWS::S3::Bucket":
        world.bucket_accounts[resolver.name(stack, logical_id)] = stack.account
        key = _default_key(props)
        if key is not None:
            world.bucket_keys[resolver.name(stack, logical_id)] = resolver.value(stack, key)
    elif kind == "AWS::KMS::Key":
        arn = resolver.arn(stack, logical_id)
        world.resource_policies[("kms", arn)] += statements(props.get("KeyPolicy"), "key")
    elif kind == "AWS::SNS::TopicPolicy":
        for topic in props.get("Topics", []):
            document = props.get("PolicyDocument")
            world.resource_policies[("sns", resolver.value(stack, topic))] += statements(
                document, "topic"
            )
    elif kind == "AWS::SQS::QueuePolicy":
        for queue in props.get("Queues", []):
            target = queue.get("Ref") if isinstance(queue, dict) else None
            arn = resolver.arn(stack, target) if target in stack.resources else UNKNOWN
            world.resource_policies[("sqs", arn)] += statements(
                props.get("PolicyDocument"), "queue"
            )
    elif kind in EMBEDDED_POLICIES and EMBEDDED_POLICIES[kind][1] in props:
        service, field, policy_kind = EMBEDDED_POLICIES[kind]
        document = props[field]
        if isinstance(document, str):
            document = json.loads(document)
        world.resource_policies[(service, resolver.arn(stack, logical_id))] += statements(
            document, policy_kind
        )
    elif kind == "AWS::Lambda::Permission":
        function = _function_arn(world, stack, props.get("FunctionName"))
        world.resource_policies[("lambda", function)].append(
            _permission_statement(world, stack, where, props)
        )
    elif kind == "AWS::Events::EventBusPolicy" and isinstance(props.get("Statement"), dict):
        bus_name = resolver.value(stack, props.get("EventBusName", "default"))
        bus = Symbol.of(f"arn:aws:events:{stack.region}:{stack.account}:event-bus/", bus_name)
        world.resource_policies[("events", bus)] += statements(
            {"Statement": [props["Statement"]]}, "event-bus"
        )
    elif kind == "AWS::OpenSearchServerless::AccessPolicy" and props.get("Type") == "data":
        _collection_access(world, stack, where, props)
    elif kind == "AWS::OpenSearchServerless::Collection":
        world.collection_names[resolver.arn(stack, logical_id)] = resolver.value(
            stack, props.get("Name")
        )
    elif kind == "AWS::Organizations::Policy" and props.get("Type") in (
        "SERVICE_CONTROL_POLICY",
        "RESOURCE_CONTROL_POLICY",
    ):
        world.management_account = stack.account
        world.org_policies.append(
            OrgPolicy(
                "scp" if props["Type"] == "SERVICE_CONTROL_POLICY" else "rcp",
                tuple(resolver.values(stack, props.get("TargetIds", []))),
                tuple(statements(props.get("Content"), props["Type"].lower().replace("_", "-"))),
            )
        )


def _role(
    world: World, stack: AssemblyStack, logical_id: str, resource: Json, statements: Any
) -> None:
    resolver = world.resolver
    props = resource.get("Properties", {})
    role = Role(
        account=stack.account,
        region=stack.region,
        name=resolver.name(stack, logical_id),
        arn=resolver.arn(stack, logical_id),
        where=f"{stack.name}/{logical_id}",
        tags={
            str(tag.get("Key")): resolver.value(stack, tag.get("Value"))
            for tag in props.get("Tags", [])
        },
        trust=statements(props.get("AssumeRolePolicyDocument"), "trust"),
    )
    for policy in props.get("Policies", []):
        role.identity += statements(policy.get("PolicyDocument"), "identity")
    if "PermissionsBoundary" in props:
        role.boundary_arn = resolver.value(stack, props["PermissionsBoundary"])
    role.managed_policy_arns = [
        str(resolver.value(stack, arn)) for arn in props.get("ManagedPolicyArns", [])
    ]
    world.roles.append(role)


class _ManagedPolicies:
    """The assembly's customer managed policies by account and ARN (the ARN's symbol, and its
    text as a role's ``ManagedPolicyArns`` gives it), and each boundary read once."""

    def __init__(self, managed: dict[tuple[str, Symbol], list[Statement]]) -> None:
        self._by_arn = managed
        self._by_text: dict[tuple[str, str], list[Statement]] = {}
        for (account, arn), statements in managed.items():
            self._by_text.setdefault((account, str(arn)), statements)
        self._boundaries: dict[tuple[str, Symbol], list[Statement] | None] = {}

    def named(self, account: str, arn: str) -> list[Statement] | None:
        return self._by_text.get((account, arn))

    def boundary(self, account: str, arn: Symbol) -> list[Statement] | None:
        """The statements of the boundary ``arn``, said to be the boundary's. Symbols are
        canonical: one that equals ``arn`` for certain is that key (none when unknown)."""
        key = (account, arn)
        if key not in self._boundaries:
            found = None if arn.unknown else self._by_arn.get(key)
            self._boundaries[key] = (
                None
                if found is None
                else [
                    replace(s, origin=Origin("boundary", s.origin.where, s.origin.sid))
                    for s in found
                ]
            )
        return self._boundaries[key]


def _managed_and_boundary(role: Role, managed: _ManagedPolicies) -> None:
    """Attach managed policies (AWS's from the snapshot) and the boundary; whatever cannot be
    found stays listed as unreadable, and makes the role's decisions unknown."""
    unreadable = []
    for arn in role.managed_policy_arns:
        statements = aws_managed(arn) if arn.startswith(AWS_MANAGED_PREFIX) else None
        if statements is None:
            statements = managed.named(role.account, arn)
        if statements is None:
            unreadable.append(arn)
        else:
            role.identity.extend(statements)
    if role.boundary_arn is not None:
        boundary = managed.boundary(role.account, role.boundary_arn)
        if boundary is None:
            unreadable.append(f"permissions boundary {role.boundary_arn}")
        role.boundary = list(boundary or [])
    role.unreadable = unreadable


@cache
def aws_managed(arn: str) -> list[Statement] | None:
    """An AWS managed policy from the snapshot in ``aws-managed/`` (None if not there)."""
    path = AWS_MANAGED / f"{arn.rsplit('/', 1)[-1]}.json"
    if not path.is_file():
        return None
    snapshot = json.loads(path.read_text())
    if snapshot["arn"] != arn:
        return None
    return statements_of(
        snapshot["document"],
        Origin("aws-managed", f"{snapshot['name']} {snapshot['version']}"),
        lambda value: value,
    )


def _default_key(props: Json) -> Any:
    rules = props.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [])
    for rule in rules:
        default = rule.get("ServerSideEncryptionByDefault", {})
        if default.get("SSEAlgorithm") == "aws:kms":
            return default.get("KMSMasterKeyID", "aws/s3")
    return None


def _collection_access(world: World, stack: AssemblyStack, where: str, props: Json) -> None:
    """An OpenSearch Serverless data access policy: collections, principals, permissions."""
    document = world.resolver.json(stack, props.get("Policy"))
    if not isinstance(document, list):
        world.collection_access[UNKNOWN].append(DataAccessRule(where, (UNKNOWN,), ("*",)))
        return
    for entry in document:
        principals = tuple(p for p in entry.get("Principal", []) if isinstance(p, Symbol))
        for rule in entry.get("Rules", []):
            permissions = tuple(str(p) for p in rule.get("Permission", []))
            for resource in rule.get("Resource", []):
                name = str(resource).split("/")[1] if "/" in str(resource) else str(resource)
                world.collection_access[text(name)].append(
                    DataAccessRule(where, principals, permissions)
                )


def _function_arn(world: World, stack: AssemblyStack, value: Any) -> Symbol:
    """A function's ARN from a property that may name it by ARN or by name."""
    function = world.resolver.value(stack, value)
    if (function.text or "arn:").startswith("arn:") and not (
        isinstance(value, dict) and "Ref" in value
    ):
        return function
    return Symbol.of(f"arn:aws:lambda:{stack.region}:{stack.account}:function:", function)


def _permission_statement(world: World, stack: AssemblyStack, where: str, props: Json) -> Statement:
    """A Lambda permission as the statement of the function's policy it adds."""
    resolve = world.resolver
    principal = resolve.value(stack, props.get("Principal"))
    literal = principal.text or ""
    kind = "*" if literal == "*" else "Service" if literal.endswith(".amazonaws.com") else "AWS"
    keys = {
        "SourceArn": ("ArnLike", "aws:SourceArn"),
        "SourceAccount": ("StringEquals", "aws:SourceAccount"),
        "PrincipalOrgID": ("StringEquals", "aws:PrincipalOrgID"),
        "FunctionUrlAuthType": ("StringEquals", "lambda:FunctionUrlAuthType"),
    }
    return Statement(
        origin=Origin("function-permission", where),
        allow=True,
        actions=(resolve.value(stack, props.get("Action")).text or "",),
        not_actions=False,
        resources=None,
        not_resources=False,
        principals=(PrincipalRef(kind, principal),),
        not_principals=False,
        conditions=tuple(
            Condition(operator, key, (resolve.value(stack, props[field]),))
            for field, (operator, key) in keys.items()
            if field in props
        ),
    )
