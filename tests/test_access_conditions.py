"""String matching and condition operators of the access evaluator, as IAM defines them
("IAM JSON policy elements: Condition operators")."""

from __future__ import annotations

import itertools
import random

import pytest

from blueprint.assembly.access.policies import Condition, condition_holds
from blueprint.assembly.access.symbols import (
    UNKNOWN,
    Atom,
    Symbol,
    Tri,
    arn_like,
    equals,
    glob,
    literal_match,
    pattern_regex,
    text,
)

BUCKET_NAME = Symbol((Atom("data/Bucket.Name"),))
OTHER_NAME = Symbol((Atom("data/Other.Name"),))


def holds(operator: str, key: str, values: list[str], context: dict[str, list[str]]) -> Tri:
    condition = Condition(operator, key, tuple(text(v) for v in values))
    return condition_holds(
        condition, {k.lower(): tuple(text(v) for v in vs) for k, vs in context.items()}
    )


# --- matching ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("s3:Get*", "s3:GetObject", Tri.YES),
        ("s3:Get?bject", "s3:GetObject", Tri.YES),
        ("s3:Get*", "s3:PutObject", Tri.NO),
        ("report-*.csv", "report-1.csv", Tri.YES),
        ("REPORT", "report", Tri.NO),
    ],
)
def test_glob_wildcards_and_case(pattern: str, value: str, expected: Tri) -> None:
    assert glob(text(pattern), text(value)) is expected


def test_arn_like_matches_the_leading_fields_one_by_one() -> None:
    pattern = text("arn:aws:iam::*:role/auditor")
    assert arn_like(pattern, text("arn:aws:iam::123456789012:role/auditor")) is Tri.YES
    assert arn_like(pattern, text("arn:aws:iam::123456789012:role/admin")) is Tri.NO
    # A wildcard in the account field does not reach into the resource part.
    assert arn_like(text("arn:aws:s3:::*"), text("arn:aws:s3:::bucket/key")) is Tri.YES


def test_literal_matching_is_the_regular_expression_reading_of_the_rules() -> None:
    """Random patterns and values over the characters that matter (colons, slashes,
    wildcards, in values too, as an S3 key may hold them; case, non-ASCII letters whose case
    lower() folds otherwise), some values made to match: the matcher without regular
    expressions answers as they do, for plain strings and ARNs, wildcards on or off, case
    kept or not."""
    chance = random.Random(35)
    alphabet = "aAb:/*?-İſ"
    compared = matched = 0
    for _ in range(4000):
        pattern = "".join(chance.choice(alphabet) for _ in range(chance.randint(0, 14)))
        if chance.random() < 0.5:
            value = "".join(
                "".join(chance.choice("aB:/*") for _ in range(chance.randint(0, 3)))
                if char == "*"
                else chance.choice("ab:?")
                if char == "?"
                else char
                for char in pattern
            )
        else:
            value = "".join(chance.choice("aAb:/-*?iIsS") for _ in range(chance.randint(0, 14)))
        for ignore_case, wildcards, arn in itertools.product((False, True), repeat=3):
            regex = pattern_regex(pattern, ignore_case, wildcards, arn=arn)
            found = literal_match(pattern, value, ignore_case, wildcards, arn=arn)
            assert found == (regex.fullmatch(value) is not None), (
                pattern,
                value,
                ignore_case,
                wildcards,
                arn,
            )
            compared += 1
            matched += found
    assert matched > compared // 10


def test_a_star_in_the_value_is_matched_by_a_star_of_the_pattern() -> None:
    """An S3 key may hold ``*``: the pattern's star still stands for any run around it."""
    bucket = "arn:aws:s3:::alice-data/"
    assert glob(text(f"{bucket}*"), text(f"{bucket}*/x")) is Tri.YES
    assert glob(text(f"{bucket}*.csv"), text(f"{bucket}*x/report.csv")) is Tri.YES
    assert arn_like(text(f"{bucket}*/secret.csv"), text(f"{bucket}*/a/secret.csv")) is Tri.YES
    assert glob(text("*?"), text("*")) is Tri.YES


def test_deploy_time_names_are_themselves_and_differ_from_each_other() -> None:
    arn = Symbol.of("arn:aws:s3:::", BUCKET_NAME, "/*")
    assert glob(arn, Symbol.of("arn:aws:s3:::", BUCKET_NAME, "/a.csv")) is Tri.YES
    assert glob(arn, Symbol.of("arn:aws:s3:::", OTHER_NAME, "/a.csv")) is Tri.NO
    assert glob(arn, text("arn:aws:s3:::named-bucket/a.csv")) is Tri.UNKNOWN
    assert glob(text("arn:aws:s3:::*"), Symbol.of("arn:aws:s3:::", BUCKET_NAME)) is Tri.YES


def test_a_deploy_time_name_cannot_change_a_fixed_first_or_last_character() -> None:
    profile = Symbol.of("arn:aws:sagemaker:eu-west-1:1:user-profile/", BUCKET_NAME, "/bob")
    assert arn_like(text("arn:aws:sagemaker:eu-west-1:1:user-profile/*/alice"), profile) is Tri.NO
    assert arn_like(text("arn:aws:sagemaker:eu-west-1:1:user-profile/*/bob"), profile) is Tri.YES
    assert glob(text("x*"), Symbol.of(BUCKET_NAME, "-suffix")) is Tri.UNKNOWN
    assert glob(Symbol.of("a", BUCKET_NAME), Symbol.of("b", BUCKET_NAME)) is Tri.NO


def test_an_unknown_value_is_never_equal_or_different() -> None:
    assert equals(UNKNOWN, text("x")) is Tri.UNKNOWN
    assert equals(UNKNOWN, UNKNOWN) is Tri.UNKNOWN
    assert glob(text("*"), UNKNOWN) is Tri.UNKNOWN


def test_three_valued_logic() -> None:
    assert Tri.any([Tri.NO, Tri.UNKNOWN]) is Tri.UNKNOWN
    assert Tri.any([Tri.UNKNOWN, Tri.YES]) is Tri.YES
    assert Tri.all([Tri.YES, Tri.UNKNOWN]) is Tri.UNKNOWN
    assert Tri.all([Tri.UNKNOWN, Tri.NO]) is Tri.NO
    assert ~Tri.UNKNOWN is Tri.UNKNOWN


# --- condition operators -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operator", "values", "actual", "expected"),
    [
        ("StringEquals", ["a", "b"], "b", Tri.YES),
        ("StringEquals", ["a"], "A", Tri.NO),
        ("StringNotEquals", ["a"], "b", Tri.YES),
        ("StringNotEquals", ["a", "b"], "b", Tri.NO),
        ("StringEqualsIgnoreCase", ["ABC"], "abc", Tri.YES),
        ("StringNotEqualsIgnoreCase", ["ABC"], "abc", Tri.NO),
        ("StringLike", ["team-*"], "team-claims", Tri.YES),
        ("StringNotLike", ["team-*"], "team-claims", Tri.NO),
        ("ArnEquals", ["arn:aws:iam::1:role/a"], "arn:aws:iam::1:role/a", Tri.YES),
        ("ArnEquals", ["arn:aws:iam::1:role/*"], "arn:aws:iam::1:role/a", Tri.NO),
        ("ArnLike", ["arn:aws:iam::1:role/*"], "arn:aws:iam::1:role/a", Tri.YES),
        ("ArnNotLike", ["arn:aws:iam::1:role/*"], "arn:aws:iam::1:role/a", Tri.NO),
        ("ArnNotEquals", ["arn:aws:iam::1:role/a"], "arn:aws:iam::1:role/b", Tri.YES),
        ("Bool", ["true"], "True", Tri.YES),
        ("Bool", ["false"], "true", Tri.NO),
        ("NumericLessThan", ["10"], "9", Tri.YES),
        ("NumericLessThanEquals", ["10"], "10", Tri.YES),
        ("NumericGreaterThan", ["10"], "10", Tri.NO),
        ("NumericGreaterThanEquals", ["10"], "10.0", Tri.YES),
        ("NumericEquals", ["3"], "3", Tri.YES),
        ("NumericNotEquals", ["3"], "3", Tri.NO),
        ("NumericEquals", ["3"], "three", Tri.UNKNOWN),
    ],
)
def test_operators(operator: str, values: list[str], actual: str, expected: Tri) -> None:
    assert holds(operator, "test:Key", values, {"test:Key": [actual]}) is expected


def test_keys_are_case_insensitive() -> None:
    assert (
        holds("StringEquals", "AWS:PrincipalTag/Team", ["x"], {"aws:principaltag/team": ["x"]})
        is Tri.YES
    )


@pytest.mark.parametrize(
    ("operator", "expected"),
    [
        ("StringEquals", Tri.NO),
        ("StringNotEquals", Tri.YES),
        ("StringEqualsIfExists", Tri.YES),
        ("StringNotEqualsIfExists", Tri.YES),
        ("ArnLike", Tri.NO),
        ("ForAllValues:StringEquals", Tri.YES),
        ("ForAnyValue:StringEquals", Tri.NO),
    ],
)
def test_a_key_missing_from_the_request(operator: str, expected: Tri) -> None:
    assert holds(operator, "s3:x-amz-server-side-encryption", ["aws:kms"], {}) is expected


def test_if_exists_tests_a_key_that_is_present() -> None:
    context = {"s3:x-amz-server-side-encryption": ["AES256"]}
    assert (
        holds("StringEqualsIfExists", "s3:x-amz-server-side-encryption", ["aws:kms"], context)
        is Tri.NO
    )


def test_null_tests_presence() -> None:
    present = {"s3:x-amz-server-side-encryption-aws-kms-key-id": ["k"]}
    key = "s3:x-amz-server-side-encryption-aws-kms-key-id"
    assert holds("Null", key, ["true"], {}) is Tri.YES
    assert holds("Null", key, ["false"], {}) is Tri.NO
    assert holds("Null", key, ["false"], present) is Tri.YES
    assert holds("Null", key, ["true"], present) is Tri.NO


def test_set_operators_over_multivalued_keys() -> None:
    tags = {"aws:TagKeys": ["team", "cost-center"]}
    assert (
        holds("ForAllValues:StringEquals", "aws:TagKeys", ["team", "cost-center", "x"], tags)
        is Tri.YES
    )
    assert holds("ForAllValues:StringEquals", "aws:TagKeys", ["team"], tags) is Tri.NO
    assert holds("ForAnyValue:StringEquals", "aws:TagKeys", ["team"], tags) is Tri.YES
    assert holds("ForAnyValue:StringEquals", "aws:TagKeys", ["owner"], tags) is Tri.NO


def test_keys_aws_always_sets_are_unknown_when_the_request_does_not_settle_them() -> None:
    assert holds("IpAddress", "aws:SourceIp", ["10.0.0.0/8"], {}) is Tri.UNKNOWN
    assert holds("Null", "aws:SourceIp", ["true"], {}) is Tri.UNKNOWN
    assert holds("StringEqualsIfExists", "aws:UserAgent", ["x"], {}) is Tri.UNKNOWN


def test_an_operator_the_evaluator_does_not_model_is_unknown() -> None:
    context = {"aws:CurrentTime": ["2026-11-27T00:00:00Z"]}
    assert (
        holds("DateGreaterThan", "aws:CurrentTime", ["2026-01-01T00:00:00Z"], context)
        is Tri.UNKNOWN
    )


# --- policy variables within values ---------------------------------------------------------

DOMAIN = Symbol((Atom("ml/StudioDomain.DomainId"),))
OWNER_PATTERN = Symbol.of(
    "arn:aws:sagemaker:eu-west-1:1:user-profile/${sagemaker:DomainId}/${sagemaker:UserProfileName}"
)


def owner_holds(context: dict[str, tuple[Symbol, ...]], owner: Symbol) -> Tri:
    condition = Condition("ArnLike", "sagemaker:OwnerUserProfileArn", (OWNER_PATTERN,))
    return condition_holds(condition, {"sagemaker:owneruserprofilearn": (owner,), **context})


def profile(name: str) -> Symbol:
    return Symbol.of("arn:aws:sagemaker:eu-west-1:1:user-profile/", DOMAIN, f"/{name}")


def test_a_variable_in_a_value_takes_the_requests_value_of_its_key() -> None:
    session = {
        "sagemaker:domainid": (DOMAIN,),
        "sagemaker:userprofilename": (text("alice"),),
    }
    assert owner_holds(session, profile("alice")) is Tri.YES
    assert owner_holds(session, profile("bruno")) is Tri.NO


def test_a_variable_whose_key_the_request_lacks_matches_nothing() -> None:
    assert owner_holds({"sagemaker:domainid": (DOMAIN,)}, profile("alice")) is Tri.NO


def test_a_variable_of_several_or_unknown_values_is_unknown() -> None:
    several = {
        "sagemaker:domainid": (DOMAIN,),
        "sagemaker:userprofilename": (text("alice"), text("bruno")),
    }
    assert owner_holds(several, profile("alice")) is Tri.UNKNOWN
    unknown = {"sagemaker:domainid": (DOMAIN,), "sagemaker:userprofilename": (UNKNOWN,)}
    assert owner_holds(unknown, profile("alice")) is Tri.UNKNOWN


def test_a_global_key_the_evaluator_does_not_derive_is_unknown_in_a_variable() -> None:
    condition = Condition("StringEquals", "s3:prefix", (text("home/${aws:userid}/"),))
    assert condition_holds(condition, {"s3:prefix": (text("home/x/"),)}) is Tri.UNKNOWN


@pytest.mark.parametrize("written", ["a${*}b", "${sagemaker:UserProfileName, 'none'}", "${$}x"])
def test_variable_forms_the_evaluator_does_not_read_are_unknown(written: str) -> None:
    condition = Condition("StringLike", "test:Key", (text(written),))
    context = {"test:key": (text("a*b"),), "sagemaker:userprofilename": (text("alice"),)}
    assert condition_holds(condition, context) is Tri.UNKNOWN
