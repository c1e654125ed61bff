"""One access question from the command line: principal, action, resource and context as
text, turned into a request (or a clear error)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from blueprint.assembly.access.chains import PrivilegeGraph, Reach
from blueprint.assembly.access.evaluate import Decision, Evaluator, Request
from blueprint.assembly.access.roles import Role
from blueprint.assembly.access.symbols import Symbol, text
from blueprint.assembly.access.world import World, build_world, resource_arn
from blueprint.assembly.reader import Assembly, AssemblyError, AssemblyStack
from blueprint.model.sections.organization import OrganizationConfig

# One action: a wildcard would ask for many requests at once, and each may be decided apart.
ACTION = re.compile(r"^[a-z0-9-]+:[A-Za-z0-9]+$")
ACCOUNT_ROLE = re.compile(r"^(\d{12}):([\w+=,.@-]{1,64})$")
ARN = re.compile(r"^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12})?:.+$")
REFERENCE = re.compile(r"\{([^{}/]+)/([^{}.]+)(?:\.([^{}]+))?\}")


class QuestionError(ValueError):
    """A question that cannot be asked: what is wrong and what is allowed."""


class Questions:
    """Answers access questions asked as text about one assembly of one organization."""

    def __init__(self, assembly: Assembly, organization: OrganizationConfig) -> None:
        self.world = build_world(assembly)
        self.evaluator = Evaluator(
            self.world, organization_id=organization.id, root_id=organization.root_id
        )

    def ask(
        self, principal: str, action: str, resource: str, context: Sequence[str] = ()
    ) -> Decision:
        """May ``principal`` do ``action`` on ``resource``? Raises QuestionError on bad input."""
        return self.evaluator.evaluate(
            request_for(self.world, principal, action, resource, list(context))
        )

    def reach(
        self, principal: str, action: str, resource: str, context: Sequence[str] = ()
    ) -> Reach:
        """The same question through every chain of roles ``principal`` can follow."""
        request = request_for(self.world, principal, action, resource, list(context))
        return PrivilegeGraph(self.world, self.evaluator).reach(request)


def request_for(
    world: World, principal: str, action: str, resource: str, context: list[str]
) -> Request:
    """The request that ``principal`` (``ACCOUNT:ROLE_NAME`` or ``STACK/LOGICAL_ID``) makes
    for ``action`` on ``resource`` (an ARN, or ``STACK/LOGICAL_ID[/object-key]``), with
    ``context`` entries ``KEY=VALUE`` (a value may reference
    ``{STACK/LOGICAL_ID[.Attribute]}``)."""
    if not ACTION.match(action):
        raise QuestionError(
            f"'{action}' is not an IAM action; allowed: service:Action (one action, no wildcard)"
        )
    role = _role(world, principal)
    arn, owner = _resource(world, resource)
    return Request(
        role.principal(), action, arn, owner, dict(_context(world, entry) for entry in context)
    )


def _role(world: World, principal: str) -> Role:
    """``ACCOUNT:ROLE_NAME``, or ``STACK/LOGICAL_ID`` for a role CloudFormation names."""
    match = ACCOUNT_ROLE.match(principal)
    if match is None and "/" in principal:
        stack_name, _, logical_id = principal.partition("/")
        try:
            stack = world.assembly.stack(stack_name)
        except AssemblyError as error:
            raise QuestionError(str(error)) from None
        found = next((r for r in world.roles if r.where == principal), None)
        if found is None:
            kind = stack.resources.get(logical_id, {}).get("Type")
            raise QuestionError(
                f"{principal} is not a role"
                + (f" (it is {kind})" if kind else f": stack {stack_name} has no such resource")
            )
        return found
    if match is None:
        raise QuestionError(
            f"'{principal}' is not a principal; allowed: ACCOUNT:ROLE_NAME (e.g. "
            "444444444444:example-corp-data-scientist) or STACK/LOGICAL_ID of a role"
        )
    account, role_name = match.groups()
    role = world.role(account, role_name)
    if role is None:
        known = sorted(r.name.text for r in world.roles if r.account == account and r.name.text)
        raise QuestionError(
            f"no role '{role_name}' in account {account}; "
            + (
                f"its named roles: {', '.join(known)}"
                if known
                else "no stack deploys to that account"
            )
        )
    return role


def _resource(world: World, resource: str) -> tuple[Symbol, str | None]:
    if resource == "*":
        return text("*"), None
    if resource.startswith("arn:"):
        found = ARN.match(resource)
        if found is None:
            raise QuestionError(
                f"'{resource}' is not an ARN; allowed: arn:PARTITION:SERVICE:REGION:ACCOUNT:"
                "RESOURCE, or STACK/LOGICAL_ID[/object-key]"
            )
        account = found.group(1)
        if account is None and resource.startswith("arn:aws:s3:::"):
            bucket = resource.removeprefix("arn:aws:s3:::").split("/", 1)[0]
            account = world.bucket_account(text(bucket))
            if account is None:
                raise QuestionError(
                    f"no bucket '{bucket}' in the assembly, so its account is unknown; name one "
                    "of its buckets, or STACK/LOGICAL_ID[/object-key]"
                )
        return text(resource), account
    parts = resource.split("/", 2)
    if len(parts) < 2:
        raise QuestionError(
            f"'{resource}' is not a resource; allowed: an ARN, or STACK/LOGICAL_ID[/object-key]"
        )
    stack_name, logical_id = parts[0], parts[1]
    stack = _stack_with(world, stack_name, logical_id)
    arn = resource_arn(world.resolver, stack, logical_id)
    if len(parts) == 3:
        if stack.resources[logical_id].get("Type") != "AWS::S3::Bucket":
            raise QuestionError(f"{stack_name}/{logical_id} is not a bucket: it has no objects")
        arn = Symbol.of(arn, f"/{parts[2]}")
    return arn, stack.account


def _stack_with(world: World, stack_name: str, logical_id: str) -> AssemblyStack:
    """The stack named ``stack_name``, which must hold ``logical_id``."""
    try:
        stack = world.assembly.stack(stack_name)
    except AssemblyError as error:
        raise QuestionError(str(error)) from None
    if logical_id not in stack.resources:
        raise QuestionError(f"stack {stack_name} has no resource '{logical_id}'")
    return stack


def _context(world: World, entry: str) -> tuple[str, tuple[Symbol, ...]]:
    key, equals, value = entry.partition("=")
    if not equals or not key or ":" not in key:
        raise QuestionError(
            f"'{entry}' is not a context entry; allowed: KEY=VALUE, e.g. "
            "bedrock:GuardrailIdentifier={STACK/LOGICAL_ID.GuardrailArn}"
        )
    pieces: list[Symbol | str] = []
    position = 0
    for found in REFERENCE.finditer(value):
        pieces.append(value[position : found.start()])
        stack_name, logical_id, attribute = found.groups()
        stack = _stack_with(world, stack_name, logical_id)
        pieces.append(
            world.resolver.get_att(stack, logical_id, attribute)
            if attribute
            else world.resolver.ref(stack, logical_id)
        )
        position = found.end()
    pieces.append(value[position:])
    return key, (Symbol.of(*pieces),)
