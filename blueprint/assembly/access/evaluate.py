"""Allow, deny or unknown: one request evaluated as AWS evaluates it.

(Over 500 lines on purpose: the evaluator follows AWS's evaluation order step by step in
one class, and the order is what a reviewer checks against AWS's documentation; split, it
would be read across files.)

The order of the IAM policy evaluation logic: an explicit deny in any policy (SCP, RCP,
resource policy, identity policy, permissions boundary) decides; then the SCPs and RCPs must
allow (AWS's FullAWSAccess and RCPFullAWSAccess are attached by default, and the platform's
policies only deny); then, within an account, an identity policy or a resource policy that
names the principal allows, capped by the boundary; across accounts both sides must allow.
KMS keys and role trust policies must themselves allow (the key policy may delegate to the
account's IAM policies by naming the account). An S3 object read or write on a bucket with
SSE-KMS also needs the key, asked of KMS through S3. A data-plane request to an OpenSearch
Serverless collection needs both ``aoss:APIAccessAll`` from IAM and a data access policy rule
that names the principal and grants the permission.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from functools import cache

from blueprint.assembly.access.policies import (
    SESSION_TAGS,
    Condition,
    Context,
    Principal,
    Statement,
    action_matches,
)
from blueprint.assembly.access.request_context import RequestContext
from blueprint.assembly.access.roles import Role
from blueprint.assembly.access.symbols import UNKNOWN, Symbol, Tri, equals, text
from blueprint.assembly.access.tags import ResourceTags
from blueprint.assembly.access.world import OrgPolicy, World
from blueprint.assembly.iam_reference.operations import authorized_as

# Services whose resources carry a policy that can admit other accounts.
RESOURCE_POLICY_SERVICES = {
    "s3",
    "kms",
    "sns",
    "sqs",
    "sagemaker",
    "sts",
    "iam",
    "lambda",
    "events",
    "ecr",
}
# KMS keys only serve requests their key policy allows; a role is assumed only when its trust
# policy allows it.
ASSUME_ROLE = "sts:assumerole"
# S3 object actions and the KMS action S3 makes for them on an SSE-KMS bucket.
KMS_FOR_S3 = {
    "s3:getobject": "kms:Decrypt",
    "s3:getobjectversion": "kms:Decrypt",
    "s3:putobject": "kms:GenerateDataKey",
}


# OpenSearch Serverless data-plane permissions, granted by data access policies.
AOSS_DATA_ACTIONS = frozenset(
    f"aoss:{action}"
    for action in (
        "createcollectionitems",
        "deletecollectionitems",
        "updatecollectionitems",
        "describecollectionitems",
        "createindex",
        "deleteindex",
        "updateindex",
        "describeindex",
        "readdocument",
        "writedocument",
    )
)


@dataclass(frozen=True)
class Request:
    """Who asks to do what to which resource, in which context.

    :param resource_account: the account that owns the resource; ``None`` for resources no
        account owns (foundation models, ``*``).
    :param context: condition keys the request carries beyond those derived from the
        principal and the resource (``bedrock:GuardrailIdentifier``, ...).
    """

    principal: Principal
    action: str
    resource: Symbol
    resource_account: str | None
    context: Mapping[str, tuple[Symbol, ...]] = field(default_factory=dict)
    via_service: str | None = None


@dataclass(frozen=True)
class Decision:
    decision: str
    reasons: tuple[str, ...]

    @staticmethod
    def of(result: Tri, reasons: Iterable[str]) -> Decision:
        word = {Tri.YES: "allow", Tri.NO: "deny", Tri.UNKNOWN: "unknown"}[result]
        return Decision(word, tuple(reasons))


class Evaluator:
    """Evaluates requests against one world (a cloud assembly) of one organization."""

    def __init__(self, world: World, *, organization_id: str, root_id: str) -> None:
        self.world = world
        self.organization_id = organization_id
        self.root_id = root_id
        self.org_accounts = world.accounts
        self._tags = ResourceTags(world.resource_tags)
        self._attached: dict[tuple[str, str], list[Statement]] = {}
        self._naming: dict[tuple[int, str], tuple[Sequence[Statement], int, list[Statement]]] = {}

    def evaluate(self, request: Request) -> Decision:
        if request.action.lower() in AOSS_DATA_ACTIONS:
            return self._collection_request(request)
        authorized = authorized_as(request.action)
        if authorized != request.action:
            decision = self.evaluate(replace(request, action=authorized))
            reason = f"{request.action} is authorized as {authorized}"
            return Decision(decision.decision, (reason, *decision.reasons))
        first = self._evaluate(request)
        if request.action.lower() not in KMS_FOR_S3 or first.decision == "deny":
            return first
        key = self._bucket_key(request.resource)
        if key is None:
            return first
        second = self._evaluate(self._through_s3(request, key))
        combined = Tri.all([_tri(first.decision), _tri(second.decision)])
        return Decision.of(
            combined,
            [*first.reasons, *(f"through S3 on its key: {r}" for r in second.reasons)],
        )

    def may_allow(self, request: Request) -> bool:
        """Whether any identity or resource policy statement may allow ``request``: where
        none may, ``evaluate`` denies it (a cheap filter, reading no condition and building
        no context). Always true for service principals, unreadable or unknown roles and
        OpenSearch data requests, which ``evaluate`` decides otherwise."""
        principal = request.principal
        if principal.is_service or request.action.lower() in AOSS_DATA_ACTIONS:
            return True
        role = self.world.role_by_arn(principal.arn)
        if role is None or role.unreadable:
            return True
        action = authorized_as(request.action)
        if action.lower() in AOSS_DATA_ACTIONS:
            return True
        if action != request.action:
            request = replace(request, action=action)
        sets = self.policy_sets(request, role)
        return any(
            statement.allow and statement.may_cover(action, request.resource)
            for name in ("identity", "resource")
            for statement in self._naming_action(sets[name], action)
        )

    def _through_s3(self, request: Request, key: Symbol) -> Request:
        """The key request S3 makes for an object request on a bucket encrypted with ``key``."""
        return replace(
            request,
            action=KMS_FOR_S3[request.action.lower()],
            resource=key,
            resource_account=_account_of(key),
            context={
                **request.context,
                "kms:viaservice": (text(f"s3.{_arn_field(key, 3)}.amazonaws.com"),),
                "kms:calleraccount": (text(request.principal.account),),
            },
            via_service="s3.amazonaws.com",
        )

    def _collection_request(self, request: Request) -> Decision:
        """IAM's ``aoss:APIAccessAll`` on the collection, then its data access policies."""
        through_iam = self._evaluate(replace(request, action="aoss:APIAccessAll"))
        iam_reasons = [f"IAM aoss:APIAccessAll: {reason}" for reason in through_iam.reasons]
        if through_iam.decision == "deny":
            return Decision("deny", tuple(iam_reasons))
        name = self.world.collection_names.get(request.resource)
        if name is None:
            return Decision("unknown", (f"no collection {request.resource} in the assembly",))
        rules = [
            *self.world.collection_access.get(name, []),
            *self.world.collection_access.get(UNKNOWN, []),
        ]
        found = [
            (rule, Tri.any(equals(p, request.principal.arn) for p in rule.principals))
            for rule in rules
            if any(fnmatchcase(request.action.lower(), p.lower()) for p in rule.permissions)
        ]
        granted = Tri.any(t for _, t in found)
        if granted is Tri.NO:
            return Decision(
                "deny", (f"no data access policy of collection {name} grants it to the principal",)
            )
        reasons = [
            f"{'granted' if t is Tri.YES else 'may be granted'} by data access policy {rule.where}"
            for rule, t in found
            if t is not Tri.NO
        ]
        return Decision.of(Tri.all([_tri(through_iam.decision), granted]), [*iam_reasons, *reasons])

    # --- one request -----------------------------------------------------------------

    def _evaluate(self, request: Request) -> Decision:
        principal = request.principal
        role = None if principal.is_service else self.world.role_by_arn(principal.arn)
        if not principal.is_service and role is None:
            return Decision("unknown", (f"no role {principal.arn} in the assembly",))
        if role is not None and role.unreadable:
            return Decision(
                "unknown",
                tuple(f"cannot read {policy} of {role.where}" for policy in role.unreadable),
            )
        context = self._context(request, role)
        service = _service_of(request.resource)
        sets = self.policy_sets(request, role)
        action = request.action
        naming = {name: self._naming_action(ss, action) for name, ss in sets.items()}
        denies = [
            (s, t)
            for found in naming.values()
            for s in found
            if not s.allow
            and (t := s.applies(action, request.resource, principal, context)) is not Tri.NO
        ]
        certain_denies = [s for s, t in denies if t is Tri.YES]
        if certain_denies:
            return Decision("deny", tuple(f"explicit deny by {s.origin}" for s in certain_denies))
        # Allows are read only where no deny is certain (most requests a chain asks end
        # above), each set's when it is needed.
        matches: dict[str, list[tuple[Statement, Tri]]] = {}

        def allowing(name: str) -> list[tuple[Statement, Tri]]:
            if name not in matches:
                matches[name] = [
                    (s, t)
                    for s in naming[name]
                    if s.allow
                    and (t := s.applies(action, request.resource, principal, context)) is not Tri.NO
                ]
            return matches[name]

        def allows(name: str, *, direct: bool | None = None) -> tuple[Tri, list[Statement]]:
            found = [
                (s, t)
                for s, t in allowing(name)
                if direct is None or (not s.by_account_only(principal)) == direct
            ]
            return Tri.any(t for _, t in found), [s for s, _ in found]

        boundary_by: list[Statement] = []
        if role is None or role.boundary is None:
            boundary = Tri.YES
        else:
            boundary, boundary_by = allows("boundary")
        direct, direct_by = allows("resource", direct=True)
        delegated, delegated_by = allows("resource", direct=False)
        same_account = request.resource_account in (None, principal.account)
        if role is not None and not same_account and direct is Tri.NO and delegated is Tri.NO:
            # Another account's resource that admits nothing of the principal's: IAM needs
            # both sides, so no identity policy can allow it and none is read.
            return Decision(
                "deny",
                tuple(
                    self._implicit(None, boundary, direct, delegated, same_account, service, role)
                ),
            )
        identity, identity_by = allows("identity")
        uncapped = Tri.any(
            t & s.principal_index.bypasses_the_boundary(principal)
            for s, t in allowing("resource")
            if not principal.is_service
        )

        if principal.is_service:
            allowed = direct
        elif _needs_resource_policy(request, service) and request.resource_account is not None:
            if same_account:
                allowed = ((direct | (delegated & identity)) & boundary) | uncapped
            else:
                allowed = (direct | delegated) & identity & boundary
        elif service in RESOURCE_POLICY_SERVICES and not same_account:
            allowed = identity & boundary & (direct | delegated)
        elif not same_account:
            allowed = Tri.NO
        else:
            allowed = ((identity | direct) & boundary) | uncapped

        unknown_denies = [s for s, t in denies if t is Tri.UNKNOWN]
        if allowed is Tri.NO:
            return Decision(
                "deny",
                tuple(
                    self._implicit(
                        identity, boundary, direct, delegated, same_account, service, role
                    )
                ),
            )
        reasons = [f"allowed by {s.origin}" for s in [*identity_by, *direct_by, *delegated_by]]
        reasons += [f"within the boundary by {s.origin}" for s in boundary_by]
        if allowed is Tri.YES and not unknown_denies:
            return Decision("allow", tuple(reasons))
        return Decision(
            "unknown",
            tuple([*(f"may be denied by {s.origin}" for s in unknown_denies), *reasons]),
        )

    def _implicit(
        self,
        identity: Tri | None,
        boundary: Tri,
        direct: Tri,
        delegated: Tri,
        same_account: bool,
        service: str,
        role: Role | None,
    ) -> list[str]:
        """Why nothing allows the request (``identity``: ``None`` where it was not read)."""
        reasons = []
        if role is None:
            reasons.append("the resource's policy does not admit the service")
        elif not same_account and service not in RESOURCE_POLICY_SERVICES:
            reasons.append(f"{service} resources take no resource policy: no cross-account access")
        elif not same_account and direct is Tri.NO and delegated is Tri.NO:
            reasons.append("the resource's policy does not admit the principal's account")
        elif service in ("kms", "iam") and direct is Tri.NO and delegated is Tri.NO:
            reasons.append("the key or trust policy does not admit the principal")
        elif identity is Tri.NO:
            reasons.append(f"no identity policy of {role.where} allows it")
        if boundary is Tri.NO and role is not None:
            reasons.append(f"the permissions boundary of {role.where} does not allow it")
        return reasons or ["no policy allows it"]

    # --- policies and context --------------------------------------------------------

    def _naming_action(self, statements: Sequence[Statement], action: str) -> Sequence[Statement]:
        """Those of ``statements`` that may name ``action``: the others never apply to it.
        Kept per list and action (most statements of a policy name other actions); the lists
        are the world's and the role's, read and never changed while deciding."""
        if not statements:
            return statements
        key = (id(statements), action)
        kept = self._naming.get(key)
        if kept is None or kept[0] is not statements or kept[1] != len(statements):
            kept = (statements, len(statements), [s for s in statements if s.may_cover(action)])
            self._naming[key] = kept
        return kept[2]

    def steps(self, request: Request) -> list[Request]:
        """The single requests ``evaluate`` decides ``request`` by: itself, and the key
        request S3 makes for an object of an SSE-KMS bucket (not OpenSearch data requests,
        which data access policies decide)."""
        if request.action.lower() in AOSS_DATA_ACTIONS:
            return []
        request = replace(request, action=authorized_as(request.action))
        key = self._bucket_key(request.resource) if request.action.lower() in KMS_FOR_S3 else None
        if key is None:
            return [request]
        return [request, self._through_s3(request, key)]

    def decide_step(self, request: Request) -> Decision:
        """One single request, as ``steps`` lists them."""
        return self._evaluate(request)

    def policy_sets(self, request: Request, role: Role | None) -> dict[str, list[Statement]]:
        """Every policy that bears on one request: SCPs, RCPs, the resource's policy, the
        role's identity policies and boundary."""
        principal = request.principal
        return {
            "scp": self._org_policies("scp", principal.account) if not principal.is_service else [],
            "rcp": self._org_policies("rcp", request.resource_account),
            "resource": self._resource_policy(request, _service_of(request.resource)),
            "identity": role.identity if role else [],
            "boundary": role.boundary or [] if role else [],
        }

    def context_of(self, request: Request) -> Context:
        """The condition keys one request carries (those AWS derives, and the request's)."""
        principal = request.principal
        role = None if principal.is_service else self.world.role_by_arn(principal.arn)
        return self._context(request, role)

    def _org_policies(self, kind: str, account: str | None) -> list[Statement]:
        """The SCPs or RCPs attached to the root or to ``account`` (none bind the management
        account or accounts outside the organization)."""
        if account is None or account == self.world.management_account:
            return []
        if account not in self.org_accounts:
            return []
        key = (kind, account)
        if key not in self._attached:
            self._attached[key] = [
                statement
                for policy in self.world.org_policies
                if policy.kind == kind
                for statement in self._attached_to(policy, kind, account)
            ]
        return self._attached[key]

    def _attached_to(self, policy: OrgPolicy, kind: str, account: str) -> tuple[Statement, ...]:
        """``policy``'s statements where it binds ``account``: attached to the root or to the
        account, for certain; attached to an organizational unit, on the condition that the
        account is in it (its organization path, which the assembly does not tell: the
        statements may apply)."""
        if {self.root_id, account} & policy.target_ids:
            return policy.statements
        units = sorted(t for t in policy.target_ids if t.startswith("ou-"))
        if not units:
            return ()
        path_key = "aws:PrincipalOrgPaths" if kind == "scp" else "aws:ResourceOrgPaths"
        within = Condition(
            "ForAnyValue:StringLike", path_key, tuple(text(f"*/{unit}/*") for unit in units)
        )
        return tuple(replace(s, conditions=(*s.conditions, within)) for s in policy.statements)

    def _resource_policy(self, request: Request, service: str) -> list[Statement]:
        """The policy of the resource asked for (symbols are canonical: a resource that is
        the policy's for certain has the same key)."""
        world, resource = self.world, request.resource
        if service == "s3":
            return world.resource_policies.get(("s3", _bucket_of(resource)), [])
        if request.action.lower().startswith(ASSUME_ROLE):
            role = world.role_by_arn(resource)
            return role.trust if role else []
        if service == "sagemaker":
            resource = _model_package_group(resource)
        return world.resource_policies.get((service, resource), [])

    def _resource_tags(self, resource: Symbol) -> dict[str, Symbol]:
        return self._tags.of(resource)

    def _bucket_key(self, resource: Symbol) -> Symbol | None:
        return self.world.bucket_keys.get(_bucket_of(resource))

    def _context(self, request: Request, role: Role | None) -> Context:
        principal = request.principal
        region = _arn_field(request.resource, 3) or (role.region if role else "")
        context: dict[str, tuple[Symbol, ...]] = {
            "aws:securetransport": (text("true"),),
            "aws:requestedregion": (text(region),),
            "aws:principalisawsservice": (text("true" if principal.is_service else "false"),),
            "aws:viaawsservice": (text("true" if request.via_service else "false"),),
        }
        if principal.is_service:
            context["aws:principalservicename"] = (text(principal.service or ""),)
        else:
            context |= {
                "aws:principalarn": (principal.arn,),
                "aws:principalaccount": (text(principal.account),),
                "aws:principaltype": (text("AssumedRole"),),
            }
            if principal.account in self.org_accounts:
                context["aws:principalorgid"] = (text(self.organization_id),)
            # A session tag overrides the role's tag of the same key: where callers may pass
            # that key and the session is not known, the role's value is not certain.
            passable = (
                {key.lower() for key in session_tag_keys(role)}
                if role and not principal.session_known
                else set()
            )
            for key, value in principal.tags:
                overridden = "*" in passable or key.lower() in passable
                context[f"aws:principaltag/{key}".lower()] = (UNKNOWN if overridden else value,)
            if not principal.session_known and role and (keys := session_tag_keys(role)):
                context[SESSION_TAGS] = tuple(text(key) for key in keys)
        if request.via_service:
            context["aws:calledvia"] = (text(request.via_service),)
        if request.resource_account is not None:
            context["aws:resourceaccount"] = (text(request.resource_account),)
            if request.resource_account in self.org_accounts:
                context["aws:resourceorgid"] = (text(self.organization_id),)
        context |= {key.lower(): value for key, value in request.context.items()}
        return RequestContext(context, lambda: self._resource_tags(request.resource))


def carried_tags(role: Role, caller: Principal) -> tuple[tuple[str, Symbol], ...] | None:
    """The session tags of ``role`` reached from ``caller``'s chain: those its trust binds to
    the caller's own value (``aws:RequestTag/<k>`` equal to ``${aws:PrincipalTag/<k>}``),
    carried along; ``None`` when its trust lets callers pass any other tag (then unknown)."""
    keys = session_tag_keys(role)
    for statement in role.trust:
        if not statement.allow or not _names_tag_session(statement):
            continue
        bound = {
            condition.key.lower().removeprefix("aws:requesttag/")
            for condition in statement.conditions
            if condition.operator == "StringEquals"
            and condition.key.lower().startswith("aws:requesttag/")
            and [v.text for v in condition.values]
            == [f"${{aws:PrincipalTag/{condition.key.split('/', 1)[1]}}}"]
        }
        # Each statement that lets a caller tag must bind every key it lets it pass.
        if not {key.lower() for key in session_tag_keys_of(statement)} <= bound:
            return None
    own = dict(caller.tags)
    if not caller.session_known:
        # The caller's own session may carry any of these tags: its value is unknown.
        own = {key: UNKNOWN for key in keys} | own
    return tuple(sorted((k, own[k]) for k in keys if k in own and k != "*"))


def session_tag_keys_of(statement: Statement) -> set[str]:
    """The tag keys one trust statement lets a caller pass ("*": any)."""
    limits = [
        c
        for c in statement.conditions
        if c.key.lower() == "aws:tagkeys" and c.operator == "ForAllValues:StringEquals"
    ]
    if limits and all(v.text is not None for c in limits for v in c.values):
        return {v.text or "" for v in limits[0].values}
    return {"*"}


def session_tag_keys(role: Role) -> set[str]:
    """The tag keys the role's trust lets whoever assumes it pass as session tags (which then
    stand beside, or instead of, the role's own tags as principal tags)."""
    return {
        key
        for statement in role.trust
        if statement.allow and _names_tag_session(statement)
        for key in session_tag_keys_of(statement)
    }


def _needs_resource_policy(request: Request, service: str) -> bool:
    return service == "kms" or request.action.lower().startswith(ASSUME_ROLE)


def _tri(decision: str) -> Tri:
    return {"allow": Tri.YES, "deny": Tri.NO}.get(decision, Tri.UNKNOWN)


@cache
def _arn_field(resource: Symbol, index: int) -> str:
    parts = resource.split(":")
    return (parts[index].text or "") if len(parts) > index else ""


def _service_of(resource: Symbol) -> str:
    return _arn_field(resource, 2)


def _account_of(resource: Symbol) -> str | None:
    return _arn_field(resource, 4) or None


@cache
def _bucket_of(resource: Symbol) -> Symbol:
    # Asked for every S3 request and its key's (hundreds of thousands at a hundred LOBs, a
    # few thousand resources): split once per resource.
    parts = resource.split(":")
    if len(parts) < 6:
        return resource
    return Symbol.of(*parts[5:]).split("/")[0]


def _model_package_group(resource: Symbol) -> Symbol:
    """A model package's group, whose policy governs the package."""
    literal_parts = resource.split("/")
    if len(literal_parts) == 3 and str(literal_parts[0]).endswith(":model-package"):
        return Symbol.of(literal_parts[0], "-group/", literal_parts[1])
    return resource


def _names_tag_session(statement: Statement) -> bool:
    """Whether ``statement`` covers sts:TagSession (a NotAction that leaves it out covers it)."""
    return action_matches(statement.actions, "sts:tagsession") != statement.not_actions
