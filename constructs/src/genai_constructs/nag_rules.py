"""The rules of the cdk-nag packs the platform runs, read from the installed cdk-nag package.

cdk-nag exposes no list of its rules, so the packs' JavaScript is read from the package (without
importing it, which would start jsii): each ``applyRule`` gives a rule's ID (``<pack>-<suffix>``,
the suffix being ``ruleSuffixOverride`` or the rule's name), its text (whose end names the
framework controls: ``... - (Control IDs: AU-2b, AU-12c).``) and its function, whose
``instanceof aws_<service>_1.Cfn<Type>`` tests name the CloudFormation types it inspects.
"""

from __future__ import annotations

import importlib.util
import re
import tarfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path, PurePosixPath

PACK_SOURCES = {
    "AwsSolutions": "package/lib/packs/aws-solutions.js",
    "NIST.800.53.R5": "package/lib/packs/nist-800-53-r5.js",
    "HIPAA.Security": "package/lib/packs/hipaa-security.js",
    "PCI.DSS.321": "package/lib/packs/pci-dss-321.js",
}
_RULES_DIRECTORY = "package/lib/rules/"
_APPLY_RULE = "this.applyRule({"
_SUFFIX = re.compile(r"ruleSuffixOverride:\s*['\"](?P<suffix>[\w-]+)['\"]")
_INFO = re.compile(r"info:\s*(?P<quote>['\"])(?P<info>(?:\\.|(?!(?P=quote)).)*)(?P=quote)")
_FUNCTION = re.compile(r"rule:\s*\w+\.(?P<name>\w+)")
_CONTROL_IDS = re.compile(r"\(Control IDs?: (?P<ids>[^)]*(?:\([^)]*\)[^)]*)*)\)\.?\s*$")
_INSPECTED = re.compile(r"instanceof aws_(?P<service>[a-z0-9]+)_1\.Cfn(?P<type>\w+)")


@dataclass(frozen=True)
class NagRule:
    """One rule as a pack applies it.

    :param rule_id: ``<pack>-<suffix>``, as findings and acknowledgments name it.
    :param function: the rule's function, shared by the packs that apply it.
    :param controls: the framework control IDs its text names (none for AwsSolutions).
    :param inspects: ``(service, type)`` of each CloudFormation type it inspects, in the form
        of the CDK's modules (``("rds", "DBInstance")`` for ``AWS::RDS::DBInstance``).
    """

    rule_id: str
    pack: str
    function: str
    controls: tuple[str, ...]
    inspects: frozenset[tuple[str, str]]

    def inspects_type(self, resource_type: str) -> bool:
        """Whether the rule looks at resources of ``resource_type`` (``AWS::S3::Bucket``)."""
        return cfn_type_key(resource_type) in self.inspects


def cfn_type_key(resource_type: str) -> tuple[str, str]:
    """``AWS::RDS::DBInstance`` -> ``("rds", "DBInstance")``: the CDK names its module after the
    service's namespace in lower case and its L1 class ``Cfn<Type>``."""
    parts = resource_type.split("::")
    if len(parts) != 3:
        return "", resource_type
    return parts[1].lower(), parts[2]


def cdk_nag_version() -> str:
    return _cdk_nag_tarball().name.removeprefix("cdk-nag@").removesuffix(".jsii.tgz")


def _cdk_nag_tarball() -> Path:
    spec = importlib.util.find_spec("cdk_nag")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("cdk-nag is not installed")
    tarballs = [
        tarball
        for location in spec.submodule_search_locations
        for tarball in (Path(location) / "_jsii").glob("cdk-nag@*.jsii.tgz")
    ]
    if len(tarballs) != 1:
        raise FileNotFoundError(
            f"cdk-nag: expected one cdk-nag@*.jsii.tgz in its package (the rules are read from "
            f"it), found {[str(t) for t in tarballs] or 'none'}; reinstall cdk-nag from PyPI"
        )
    return tarballs[0]


def controls_of(info: str) -> tuple[str, ...]:
    """The control IDs at the end of a rule's text."""
    found = _CONTROL_IDS.search(info)
    if not found:
        return ()
    # A rule's text may name a control twice: each is counted once.
    return tuple(
        dict.fromkeys(part.strip() for part in found.group("ids").split(",") if part.strip())
    )


@cache
def nag_rules() -> dict[str, NagRule]:
    """Every rule of the four packs, by rule ID."""
    packs: dict[str, str] = {}
    functions: dict[str, frozenset[tuple[str, str]]] = {}
    with tarfile.open(_cdk_nag_tarball()) as archive:
        for member in archive:
            path = PurePosixPath(member.name)
            source = archive.extractfile(member) if member.isfile() else None
            if source is None:
                continue
            if member.name in PACK_SOURCES.values():
                packs[member.name] = source.read().decode()
            elif member.name.startswith(_RULES_DIRECTORY) and path.suffix == ".js":
                functions[path.stem] = frozenset(
                    (match.group("service"), match.group("type"))
                    for match in _INSPECTED.finditer(source.read().decode())
                )
    rules: dict[str, NagRule] = {}
    missing = sorted(set(PACK_SOURCES.values()) - set(packs))
    if missing:
        raise ValueError(
            f"cdk-nag {cdk_nag_version()} has no {', '.join(missing)}: this version of "
            "genai_constructs reads the packs of cdk-nag 3 (pin the version pyproject.toml names)"
        )
    for pack, member_name in PACK_SOURCES.items():
        for block in packs[member_name].split(_APPLY_RULE)[1:]:
            function = _FUNCTION.search(block)
            info = _INFO.search(block)
            if function is None or info is None:
                raise ValueError(f"cdk-nag {cdk_nag_version()}: unreadable rule in {member_name}")
            suffix = _SUFFIX.search(block)
            name = function.group("name")
            rule_id = f"{pack}-{suffix.group('suffix') if suffix else name}"
            rules[rule_id] = NagRule(
                rule_id=rule_id,
                pack=pack,
                function=name,
                controls=controls_of(info.group("info")),
                inspects=functions.get(name, frozenset()),
            )
    return rules


def pack_rules(pack: str) -> list[NagRule]:
    return [rule for rule in nag_rules().values() if rule.pack == pack]
