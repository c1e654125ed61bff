"""The access evaluator's indexes find every role or tagged resource a full scan would: the
trust index by what a trust names (an account, an ARN known at synthesis or at deploy time),
the resource tags by the ARN's literal start. Each test holds the index to the comparison it
replaces."""

from __future__ import annotations

from blueprint.assembly.access.policies import Origin, Principal, PrincipalRef, Statement
from blueprint.assembly.access.roles import Role
from blueprint.assembly.access.symbols import UNKNOWN, Atom, Symbol, Tri, equals, text
from blueprint.assembly.access.tags import ResourceTags
from blueprint.assembly.access.trusts import TrustIndex

HERE, THERE = "111111111111", "222222222222"
CALLER_NAME = Atom("app/CallerRole.Ref")


def statement(*refs: PrincipalRef, actions: tuple[str, ...] = ("sts:AssumeRole",)) -> Statement:
    return Statement(Origin("trust", "test"), True, actions, False, None, False, refs, False, ())


def role(account: str, name: str, trust: list[Statement]) -> Role:
    arn = text(f"arn:aws:iam::{account}:role/{name}")
    return Role(account, "eu-west-1", text(name), arn, f"test/{name}", {}, trust)


def aws(value: str | Symbol) -> PrincipalRef:
    return PrincipalRef("AWS", text(value) if isinstance(value, str) else value)


def deploy_time_arn(account: str) -> Symbol:
    return Symbol.of(f"arn:aws:iam::{account}:role/", CALLER_NAME)


def test_a_trust_naming_the_account_is_a_candidate_only_for_a_caller_that_may_delegate() -> None:
    trusting = role(HERE, "trusts-the-account", [statement(aws(f"arn:aws:iam::{HERE}:root"))])
    naming = role(HERE, "names-the-caller", [statement(aws(f"arn:aws:iam::{HERE}:role/caller"))])
    index = TrustIndex([trusting, naming])
    caller = Principal(HERE, text(f"arn:aws:iam::{HERE}:role/caller"))

    assert index.candidates(caller) == [trusting, naming]
    assert index.candidates(caller, delegates=lambda role: False) == [naming]


def test_a_trust_naming_a_deploy_time_arn_is_a_candidate_in_that_account_only() -> None:
    trusting = role(HERE, "trusts-a-generated-role", [statement(aws(deploy_time_arn(HERE)))])
    index = TrustIndex([trusting])
    same_account = [
        Principal(HERE, deploy_time_arn(HERE)),
        Principal(HERE, Symbol.of(f"arn:aws:iam::{HERE}:role/", Atom("app/Other.Ref"))),
        Principal(HERE, text(f"arn:aws:iam::{HERE}:role/named")),
    ]
    other_account = [
        Principal(THERE, Symbol.of(f"arn:aws:iam::{THERE}:role/", CALLER_NAME)),
        Principal(THERE, text(f"arn:aws:iam::{THERE}:role/named")),
    ]

    for caller in same_account:
        assert index.candidates(caller, delegates=lambda role: False) == [trusting]
    for caller in other_account:
        # What the index leaves out, the trust itself never admits.
        assert index.candidates(caller) == []
        assert equals(deploy_time_arn(HERE), caller.arn) is Tri.NO


def test_a_trust_the_index_cannot_read_is_a_candidate_for_everyone() -> None:
    unknown = role(HERE, "trusts-an-unknown", [statement(aws(UNKNOWN))])
    pattern = role(THERE, "trusts-any-session", [statement(aws("*"))])
    index = TrustIndex([unknown, pattern])

    caller = Principal(THERE, text(f"arn:aws:iam::{THERE}:role/caller"))
    assert index.candidates(caller, delegates=lambda role: False) == [unknown, pattern]


def test_a_caller_whose_arn_starts_with_a_deploy_time_name_gets_every_role() -> None:
    roles = [role(HERE, "one", [statement(aws(HERE))]), role(THERE, "two", [statement()])]
    index = TrustIndex(roles)

    assert index.candidates(Principal(HERE, Symbol.of("arn:aws:iam::", CALLER_NAME))) == roles


def test_tags_are_found_by_a_resource_of_the_same_start_and_unknown_otherwise() -> None:
    bucket = Symbol.of("arn:aws:s3:::", Atom("data/Bucket.Ref"))
    topic = Symbol.of(f"arn:aws:sns:eu-west-1:{HERE}:", Atom("data/Topic.TopicName"))
    tags = ResourceTags({bucket: {"owner": text("data")}, topic: {"owner": text("alerts")}})

    assert tags.of(bucket) == {"owner": text("data")}
    assert tags.of(text("arn:aws:s3:::named-bucket")) == {"owner": UNKNOWN}
    assert tags.of(text(f"arn:aws:sns:eu-west-1:{THERE}:named-topic")) == {}
    assert tags.of(Symbol.of("arn:aws:s3:::", Atom("data/Other.Ref"))) == {}
    assert tags.of(Symbol.of("arn:aws:", Atom("data/Service.Ref"), ":::x")) == {"owner": UNKNOWN}
    assert tags.of(UNKNOWN) == {"owner": UNKNOWN}


REFS = [
    PrincipalRef("*", text("*")),
    aws("*"),
    aws(HERE),
    aws(f"arn:aws:iam::{HERE}:root"),
    aws(f"arn:aws:iam::{THERE}:root"),
    aws(f"arn:aws:iam::{HERE}:role/caller"),
    aws(f"arn:aws:iam::{THERE}:role/caller"),
    aws(f"arn:aws:sts::{HERE}:assumed-role/caller/session"),
    aws(deploy_time_arn(HERE)),
    aws(UNKNOWN),
    aws("arn:aws:iam::short"),
    PrincipalRef("Service", text("lambda.amazonaws.com")),
    PrincipalRef("Service", text("*")),
    PrincipalRef("Service", Symbol.of(Atom("app/Service.Ref"))),
    PrincipalRef("Other", text("cognito-identity.amazonaws.com")),
]
PRINCIPALS = [
    Principal(HERE, text(f"arn:aws:iam::{HERE}:role/caller")),
    Principal(HERE, text(f"arn:aws:iam::{HERE}:role/someone-else")),
    Principal(THERE, text(f"arn:aws:iam::{THERE}:role/caller")),
    Principal(HERE, deploy_time_arn(HERE)),
    Principal(THERE, deploy_time_arn(THERE)),
    Principal(HERE, Symbol.of("arn:aws:iam::", CALLER_NAME)),
    Principal(HERE, UNKNOWN),
    Principal(HERE, text(""), service="lambda.amazonaws.com"),
    Principal(HERE, text(""), service="states.amazonaws.com"),
]


def test_the_principal_index_answers_as_the_principals_read_one_by_one() -> None:
    statements = [(ref,) for ref in REFS] + [tuple(REFS), tuple(REFS[2:7]), tuple(REFS[8:])]
    for refs in statements:
        trust = statement(*refs)
        for principal in PRINCIPALS:
            one_by_one = Tri.any(ref.matches(principal)[0] for ref in refs)
            assert trust.names(principal) is one_by_one, (refs, principal)
            directly = any(ref.matches(principal) == (Tri.YES, False) for ref in refs)
            assert trust.by_account_only(principal) is not directly, (refs, principal)
            bypasses = Tri.any(ref.bypasses_the_boundary(principal) for ref in refs)
            assert trust.principal_index.bypasses_the_boundary(principal) is bypasses


def test_a_caller_whose_actions_are_not_literal_or_unreadable_keeps_every_candidate() -> None:
    from blueprint.assembly.access.chains import _identity_may, _identity_names

    unknown_action = Statement(
        Origin("identity", "test"), True, (), False, None, False, None, False, (), False
    )
    caller = role(HERE, "caller", [])
    assert not _identity_names(caller, "sts:AssumeRole")
    assert not _identity_may(caller, "lambda:UpdateFunctionCode")
    caller.identity.append(unknown_action)
    assert _identity_names(caller, "sts:AssumeRole")
    assert _identity_may(caller, "lambda:UpdateFunctionCode")
    unreadable = role(HERE, "unreadable", [])
    unreadable.unreadable.append("an inline policy")
    assert _identity_names(unreadable, "sts:AssumeRole")
