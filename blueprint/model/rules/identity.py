"""Cross-field rules of identity and sign-in: Identity Center's groups, the assignments of
personas to LOBs and environments, break-glass access and the administrator account."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from blueprint.model.errors import ConfigProblem
from blueprint.model.personas import persona_named, persona_names
from blueprint.model.raw import lob_environments, mapping, sequence, strings
from blueprint.model.sections.environments import ENVIRONMENT_NAMES


def identity_problems(data: dict[str, Any]) -> Iterator[ConfigProblem]:
    """Assignments name declared groups, LOBs and environments where their persona exists;
    the administrator account is one of the organization's."""
    identity = mapping(mapping(data.get("organization")).get("identity"))
    if not identity:
        return
    where = "organization.identity"
    groups = mapping(identity.get("groups"))
    ids = [value for value in groups.values() if isinstance(value, str)]
    for name, value in groups.items():
        if ids.count(value) > 1:
            yield ConfigProblem(
                f"{where}.groups.{name}",
                f"the group ID {value} is given to more than one group; allowed: each group "
                "its own ID",
            )
    # Keys and names of the wrong type have their own problems (the models'); skip them here.
    known_groups = ", ".join(sorted(map(str, groups))) or "none (declare groups first)"
    lobs = {
        lob_name: mapping(lob.get("environments"))
        for lob in map(mapping, sequence(data.get("lobs")))
        if isinstance(lob_name := lob.get("name"), str)
    }
    for index, raw in enumerate(sequence(identity.get("assignments"))):
        assignment = mapping(raw)
        path = f"{where}.assignments[{index}]"
        group = assignment.get("group")
        if isinstance(group, str) and group not in groups:
            yield ConfigProblem(
                f"{path}.group", f"unknown group '{group}'; allowed: {known_groups}"
            )
        yield from _assignment_target_problems(path, assignment, lobs)
    break_glass = mapping(identity.get("break_glass")).get("group")
    if isinstance(break_glass, str) and break_glass not in groups:
        yield ConfigProblem(
            f"{where}.break_glass.group",
            f"unknown group '{break_glass}'; allowed: {known_groups}",
        )
    admin = identity.get("admin_account")
    if isinstance(admin, str) and admin not in _organization_accounts(data):
        yield ConfigProblem(
            f"{where}.admin_account",
            f"{admin} is not an account of this organization; allowed: the management account "
            "or another account the file names (Identity Center's delegated administrator)",
        )


def _assignment_target_problems(
    path: str, assignment: dict[str, Any], lobs: dict[Any, dict[str, Any]]
) -> Iterator[ConfigProblem]:
    name = assignment.get("persona")
    if isinstance(name, str) and name not in persona_names():
        yield ConfigProblem(
            f"{path}.persona", f"unknown persona '{name}'; allowed: {', '.join(persona_names())}"
        )
        return
    persona = persona_named(name) if isinstance(name, str) else None
    chosen_lobs = [lob for lob in sequence(assignment.get("lobs")) if isinstance(lob, str)]
    environments = [e for e in sequence(assignment.get("environments")) if isinstance(e, str)]
    if not chosen_lobs and assignment.get("platform") is not True:
        yield ConfigProblem(
            path, "the assignment selects no account; allowed: lobs (and environments), platform"
        )
    if persona and chosen_lobs and not persona.in_lob_accounts:
        yield ConfigProblem(
            f"{path}.lobs",
            f"the {persona} persona exists only in the platform's accounts; allowed: platform: "
            "true",
        )
    if persona and assignment.get("platform") is True and not persona.in_platform_accounts:
        yield ConfigProblem(
            f"{path}.platform",
            f"the {persona} persona exists only in LOB environments; allowed: lobs",
        )
    if environments and not chosen_lobs:
        yield ConfigProblem(f"{path}.environments", "environments need lobs; allowed: lobs")
    if persona and persona.environments:
        allowed = ", ".join(sorted(persona.environments))
        for position, environment in enumerate(environments):
            if environment not in persona.environments:
                yield ConfigProblem(
                    f"{path}.environments[{position}]",
                    f"the {persona} persona exists only in {allowed} environments; "
                    f"allowed: {allowed} (got {environment})",
                )
    for position, lob in enumerate(sequence(assignment.get("lobs"))):
        if not isinstance(lob, str):
            continue
        if lob not in lobs:
            allowed = ", ".join(str(name) for name in lobs)
            yield ConfigProblem(
                f"{path}.lobs[{position}]", f"unknown LOB '{lob}'; allowed: {allowed}"
            )
            continue
        for environment in environments:
            if environment in ENVIRONMENT_NAMES and environment not in lobs[lob]:
                yield ConfigProblem(
                    f"{path}.environments",
                    f"LOB {lob} has no {environment} environment; allowed: "
                    f"{', '.join(map(str, lobs[lob])) or 'none'}",
                )
        where = persona.environments if persona else frozenset()
        if where and not environments and not any(e in where for e in lobs[lob]):
            yield ConfigProblem(
                f"{path}.lobs[{position}]",
                f"LOB {lob} has no environment where the {persona} persona exists (only "
                f"{', '.join(sorted(where))}), so the assignment selects nothing there; allowed: "
                "an LOB with such an environment",
            )


def reviewer_problems(data: dict[str, Any]) -> Iterator[ConfigProblem]:
    """With sign-in configured, a use case whose answers a person reviews has, in every
    environment where it answers from knowledge bases, a group that becomes the LOB's
    ml-engineer there (the persona that becomes its reviewer role)."""
    identity = mapping(mapping(data.get("organization")).get("identity"))
    if not identity:
        return
    assignments = [
        mapping(a)
        for a in sequence(identity.get("assignments"))
        if mapping(a).get("persona") == "ml-engineer"
    ]
    for index, lob in enumerate(map(mapping, sequence(data.get("lobs")))):
        name = lob.get("name")
        genai = mapping(lob.get("genai"))
        kb_environments = {
            mapping(kb).get("name"): mapping(kb).get("environments")
            for kb in sequence(genai.get("knowledge_bases"))
        }
        for u_index, use_case in enumerate(map(mapping, sequence(genai.get("use_cases")))):
            if not mapping(use_case.get("record")).get("human_review"):
                continue
            if mapping(use_case.get("rag")).get("answer_api") is False:
                continue
            for environment in mapping(lob.get("environments")):
                answers = any(
                    kb_environments.get(kb) is None
                    or environment in strings(kb_environments.get(kb))
                    for kb in strings(use_case.get("knowledge_bases"))
                    if kb in kb_environments
                )
                reviewed = any(
                    name in strings(a.get("lobs"))
                    and (
                        a.get("environments") is None
                        or environment in strings(a.get("environments"))
                    )
                    for a in assignments
                )
                if answers and not reviewed:
                    yield ConfigProblem(
                        f"lobs[{index}].genai.use_cases[{u_index}].record.human_review",
                        f"no group of organization.identity.assignments becomes ml-engineer in "
                        f"{name} {environment}, whose people review this use case's answers; "
                        "allowed: an ml-engineer assignment for that LOB and environment, or "
                        "human_review: false",
                    )


def _organization_accounts(data: dict[str, Any]) -> set[str]:
    organization = mapping(data.get("organization"))
    platform = mapping(data.get("platform"))
    accounts = {
        organization.get("management_account"),
        platform.get("governance_account"),
        platform.get("tooling_account"),
        mapping(platform.get("hub")).get("account"),
        *mapping(platform.get("central_accounts")).values(),
    }
    accounts |= {mapping(env).get("account") for _, env in lob_environments(data)}
    return {account for account in accounts if isinstance(account, str)}
