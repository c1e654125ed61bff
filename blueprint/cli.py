"""The ``blueprint`` command line."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from blueprint.assembly.organization import require_same_organization
from blueprint.assembly.price_list import PRICE_LIST
from blueprint.assembly.reader import AssemblyError, read_assembly, require_baseline
from blueprint.collector import collecting_less
from blueprint.model import names
from blueprint.model.loader import load_config_or_exit
from blueprint.model.placing import plan_for
from blueprint.model.prices import PRICES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="blueprint", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    validate = commands.add_parser("validate", help="check an organization file; exit 2 if bad")
    validate.add_argument("file", help="organization YAML file, e.g. environments/example.yaml")
    summary = commands.add_parser(
        "summary", help="summarize a synthesized cloud assembly: templates and compliance results"
    )
    summary.add_argument("assembly", nargs="?", default="cdk.out", help="default cdk.out")
    audit = commands.add_parser(
        "audit", help="write audit/index.html, audit.md and audit.json inside a cloud assembly"
    )
    audit.add_argument("assembly", nargs="?", default="cdk.out", help="default cdk.out")
    audit.add_argument("--org", default="environments/example.yaml", help="organization file")
    audit.add_argument("--no-lint", action="store_true", help="skip cfn-lint")
    audit.add_argument(
        "--fresh", action="store_true", help="decide the access table again, even if kept"
    )
    audit.add_argument(
        "--baseline",
        help="an earlier cloud assembly: list stateful resources this one deletes or replaces; "
        "exit 3 if any",
    )
    audit.add_argument(
        "--stacks",
        help="with --baseline: only the stacks `cdk deploy` deploys for these patterns (*, ? and "
        "[...] globs, space separated) and the stacks they depend on",
    )
    audit.add_argument(
        "--accept",
        metavar="FILE",
        help="with --baseline: a reviewed YAML list of {resource: ACCOUNT/STACK/LOGICAL_ID, "
        "reason} that may be deleted or replaced",
    )
    lint = commands.add_parser(
        "lint",
        help="check every policy against AWS's action data, and cfn-lint every template on "
        "every core; exit 1 on any finding",
    )
    lint.add_argument("assembly", nargs="?", default="cdk.out", help="default cdk.out")
    lint.add_argument("--verbose", action="store_true", help="name each template as it is done")
    lint.add_argument(
        "--fresh", action="store_true", help="check and lint every template again, even if kept"
    )
    cost = commands.add_parser("cost", help="print the idle monthly baseline per LOB environment")
    cost.add_argument("assembly", nargs="?", default="cdk.out", help="default cdk.out")
    cost.add_argument("--by-type", action="store_true", help="also the cost per resource type")
    cost.add_argument(
        "--markdown",
        action="store_true",
        help="the table alone, in Markdown (as the README has it)",
    )
    cost.add_argument(
        "--compare",
        metavar="BASELINE",
        help="an earlier cloud assembly: what the change does to the idle cost per placement",
    )
    prices = commands.add_parser(
        "prices",
        help="regenerate the price snapshot from the AWS Price List offer files of every region "
        "the organization file allows",
    )
    prices.add_argument("--org", default="environments/example.yaml", help="organization file")
    prices.add_argument(
        "--offers",
        default=PRICE_LIST,
        help="the offer files: the Price List's base URL (default) or a folder laid out like it "
        "(<offer>/current/<region>/index.json)",
    )
    prices.add_argument("--out", default=str(PRICES), help="the snapshot; default the packaged one")
    deploy = commands.add_parser(
        "deploy",
        help="deploy a cloud assembly; --local: into moto, every account, with smoke checks",
    )
    deploy.add_argument("assembly", nargs="?", default="cdk.out", help="default cdk.out")
    deploy.add_argument(
        "--local",
        action="store_true",
        help="into moto's server on 127.0.0.1 (the only target here: AWS is `cdk deploy`'s job)",
    )
    deploy.add_argument(
        "--role-name",
        default=names.cdk_role_name("deploy", "{account}", "{region}"),
        help="role assumed in each account ({account} and {region} are filled in)",
    )
    deploy.add_argument(
        "--stacks", help="comma-separated stack name patterns, e.g. '*-security,*-foundation'"
    )
    preflight = commands.add_parser(
        "preflight",
        help="before cdk diff or deploy: AWS credentials, and the bootstrap of each target",
    )
    preflight.add_argument("stacks", nargs="+", help="stack names or patterns, as for cdk")
    preflight.add_argument("--assembly", default="cdk.out", help="default cdk.out")
    preflight.add_argument("--org", required=True, help="organization file")
    bootstrap = commands.add_parser(
        "bootstrap-template",
        help="write the platform's CDK bootstrap template beside a cloud assembly",
    )
    bootstrap.add_argument("assembly", nargs="?", default="cdk.out", help="default cdk.out")
    access = commands.add_parser(
        "access",
        help="who may do what: run the access catalog over a cloud assembly (exit 1 on any "
        "mismatch), or answer one question",
    )
    access.add_argument("assembly", nargs="?", default="cdk.out", help="default cdk.out")
    access.add_argument("--org", default="environments/example.yaml", help="organization file")
    access.add_argument(
        "--principal", help="ACCOUNT:ROLE_NAME, or STACK/LOGICAL_ID of a role (one question)"
    )
    access.add_argument("--action", help="SERVICE:ACTION (one question)")
    access.add_argument("--resource", help="an ARN, or STACK/LOGICAL_ID[/object-key]")
    access.add_argument(
        "--context",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a condition key the request carries; VALUE may reference {STACK/LOGICAL_ID.Attr}",
    )
    access.add_argument("--json", action="store_true", help="print the answer as JSON")
    access.add_argument(
        "--every-check", action="store_true", help="catalog: print every check, not only mismatches"
    )
    access.add_argument(
        "--fresh",
        action="store_true",
        help="catalog: decide every question, even if nothing the recorded answers read changed",
    )
    schema = commands.add_parser(
        "schema",
        help="write the organization file's JSON Schema and reference (generated from the model)",
    )
    schema.add_argument("--out", default="docs", help="directory to write them to; default docs")
    args = parser.parse_args(argv)
    try:
        with collecting_less():
            return _run(args)
    except AssemblyError as error:
        print(f"blueprint {args.command}: {error}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    if args.command == "validate":
        plan = plan_for(load_config_or_exit(args.file))
        print(
            f"{args.file}: valid: organization {plan.prefix}, {len(plan.config.lobs)} LOB(s), "
            f"{len(plan.placements)} account placement(s)"
        )
    elif args.command == "summary":
        return print_summary(Path(args.assembly))
    elif args.command == "audit":
        baseline = Path(args.baseline) if args.baseline else None
        if baseline:
            require_baseline(baseline)
        elif args.stacks or args.accept:
            raise AssemblyError("--stacks and --accept belong to --baseline; allowed: all three")
        if args.accept:
            from blueprint.assembly.replacement import load_acceptances

            load_acceptances(Path(args.accept))
        status = write_audit_report(
            Path(args.assembly),
            args.org,
            lint=not args.no_lint,
            baseline=baseline,
            fresh=args.fresh,
        )
        if baseline:
            status = status or guard_replacements(
                baseline,
                Path(args.assembly),
                stacks=args.stacks.split() if args.stacks else (),
                accept=Path(args.accept) if args.accept else None,
            )
        return status
    elif args.command == "cost":
        if args.markdown and (args.by_type or args.compare):
            raise AssemblyError(
                "--markdown prints the table alone; allowed: --markdown, or --by-type and "
                "--compare without it"
            )
        print_cost(
            Path(args.assembly),
            by_type=args.by_type,
            markdown=args.markdown,
            baseline=Path(args.compare) if args.compare else None,
        )
    elif args.command == "prices":
        from blueprint.assembly.price_list import regenerate

        return regenerate(load_config_or_exit(args.org), args.offers, Path(args.out))
    elif args.command == "lint":
        return print_lint(Path(args.assembly), verbose=args.verbose, fresh=args.fresh)
    elif args.command == "deploy":
        return deploy_local(args)
    elif args.command == "access":
        return access(args)
    elif args.command == "bootstrap-template":
        return bootstrap_template(Path(args.assembly))
    elif args.command == "preflight":
        return run_preflight(args)
    elif args.command == "schema":
        from blueprint.model.schema import write_docs

        for path in write_docs(Path(args.out)):
            print(f"written {path}")
    return 0


def run_preflight(args: argparse.Namespace) -> int:
    """Exit 2, with what to do, when credentials or a target's bootstrap are missing."""
    from blueprint.deploy.preflight import PreflightError, preflight

    config = load_config_or_exit(args.org)
    try:
        lines = preflight(
            read_assembly(Path(args.assembly)), config.platform.tooling_account, args.stacks
        )
    except PreflightError as error:
        for line in str(error).splitlines():
            print(f"blueprint preflight: {line}", file=sys.stderr)
        return 2
    for line in lines:
        print(line)
    return 0


def access(args: argparse.Namespace) -> int:
    """The catalog (no --principal), or one question (--principal, --action, --resource)."""
    from blueprint.assembly.access.question import QuestionError, Questions
    from blueprint.assembly.access.report import chain_lines
    from blueprint.assembly.access.reuse import catalog_answers

    plan = plan_for(load_config_or_exit(args.org))
    assembly = read_assembly(Path(args.assembly))
    require_same_organization(assembly, plan, args.org)
    questions = Questions(assembly, plan.config.organization)
    question = [args.principal, args.action, args.resource]
    if not any(question):
        mode = "json" if args.json else "every-check" if args.every_check else "lines"
        answers, reused = catalog_answers(
            Path(args.assembly), questions.world, plan, mode=mode, fresh=args.fresh
        )
        if reused:
            print(
                f"blueprint access: nothing the answers in {args.assembly} read has changed; "
                "printing them (--fresh decides every question again)",
                file=sys.stderr,
            )
        for line in answers.err:
            print(line, file=sys.stderr)
        for line in answers.out:
            print(line)
        return answers.status
    if not all(question):
        print(
            "blueprint access: one question needs --principal, --action and --resource",
            file=sys.stderr,
        )
        return 2
    try:
        decision = questions.ask(args.principal, args.action, args.resource, args.context)
        reach = questions.reach(args.principal, args.action, args.resource, args.context)
    except QuestionError as error:
        print(f"blueprint access: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(
            json.dumps(
                {
                    "decision": decision.decision,
                    "reasons": list(decision.reasons),
                    "through_chains": reach.decision.decision,
                    "chain": [hop.as_json() for hop in reach.chain],
                }
            )
        )
        return 0
    print(decision.decision)
    for reason in decision.reasons:
        print(f"  {reason}")
    if reach.chain:
        print(f"through a chain of {len(reach.chain)} hop(s): {reach.decision.decision}")
        for line in chain_lines(reach):
            print(f"  {line}")
    return 0


def bootstrap_template(assembly: Path) -> int:
    from blueprint.deploy.bootstrap import BootstrapError, write_bootstrap_template

    try:
        path = write_bootstrap_template(read_assembly(assembly))
    except BootstrapError as error:
        print(f"blueprint bootstrap-template: {error}", file=sys.stderr)
        return 2
    print(f"bootstrap template written to {path} (qualifier {names.BOOTSTRAP_QUALIFIER})")
    return 0


def print_lint(assembly: Path, *, verbose: bool = False, fresh: bool = False) -> int:
    """The IAM reference check, then cfn-lint; 1 when either finds anything. ``fresh``:
    nothing kept by an earlier run of the same assembly is used."""
    from blueprint.assembly.iam_reference.reference import load_reference
    from blueprint.assembly.iam_reference.remembered import checked
    from blueprint.assembly.lint import lint_assembly
    from blueprint.progress import Progress

    cloud_assembly = read_assembly(assembly)
    reference = load_reference()
    statements, problems = checked(reference, cloud_assembly, fresh=fresh)
    for problem in problems:
        print(problem)
    print(
        f"IAM reference ({reference.label}): {statements} policy statement(s), "
        f"{len(problems)} problem(s)"
    )
    total = len(cloud_assembly.stacks)
    with Progress("cfn-lint", total, "templates (at most)", verbose=verbose) as progress:

        def linted(path: str) -> None:
            progress.advance(1, f"linted {Path(path).name}")

        result = lint_assembly(assembly, progress=linted, assembly=cloud_assembly, reuse=not fresh)
    for finding in result["findings"]:
        print(f"{finding['stack']}:{finding['line']}: {finding['rule']} {finding['message']}")
    print(
        f"cfn-lint: {result['templates']} template(s), {len(result['findings'])} finding(s) "
        f"({result['linted']} linted; every other is of a shape linted now or by an earlier lint)"
    )
    return 1 if result["findings"] or problems else 0


def deploy_local(args: argparse.Namespace) -> int:
    """Deploy into the emulator; 2 when asked for anything else."""
    from blueprint.deploy.local import run_local

    if not args.local:
        print(
            "blueprint deploy: only --local is implemented; deploy to AWS with `make deploy` "
            "(ORG and STACKS set) or the Pulumi program in deploy/pulumi",
            file=sys.stderr,
        )
        return 2
    patterns = args.stacks.split(",") if args.stacks else None
    return run_local(Path(args.assembly), role_name=args.role_name, patterns=patterns)


def guard_replacements(
    baseline: Path, candidate: Path, stacks: Sequence[str] = (), accept: Path | None = None
) -> int:
    """Print every stateful resource deleted, replaced or orphaned (in ``stacks``, glob
    patterns; none: every stack); 3 when any is lost and not in the reviewed ``accept`` file,
    0 otherwise. An acceptance of a resource the change does not put at risk is refused."""
    from blueprint.assembly.replacement import load_acceptances, stateful_changes

    accepted = {a.resource: a for a in load_acceptances(accept)} if accept else {}
    changes = stateful_changes(baseline, candidate, stacks)
    stale = sorted(set(accepted) - {c.resource for c in changes if not c.orphaned})
    if stale:
        raise AssemblyError(
            f"{accept}: accepts {', '.join(stale)}, which this change does not delete or "
            "replace in the stacks checked; allowed: only resources the guard lists AT RISK "
            "(remove the entry)"
        )
    at_risk = 0
    for change in changes:
        if change.orphaned:
            print(f"ORPHANED {change.line()}")
        elif change.resource in accepted:
            print(f"ACCEPTED {change.line()}: {accepted[change.resource].reason}")
        else:
            at_risk += 1
            print(f"AT RISK {change.line()}")
    orphaned = sum(1 for change in changes if change.orphaned)
    extras = [f"{orphaned} orphaned (retained)"] if orphaned else []
    extras += [f"{len(accepted)} accepted in {accept}"] if accepted else []
    print(
        f"replacement guard: {at_risk} stateful resource(s) deleted or replaced "
        f"against {baseline}" + (f"; {', '.join(extras)}" if extras else "")
    )
    return 3 if at_risk else 0


def write_audit_report(
    assembly: Path, org_file: str, lint: bool, baseline: Path | None = None, fresh: bool = False
) -> int:
    from blueprint.assembly.audit import build_report, write_audit
    from blueprint.model.inputs.compliance import check_settings

    plan = plan_for(load_config_or_exit(org_file))
    cloud_assembly = read_assembly(assembly)
    require_same_organization(cloud_assembly, plan, org_file)
    report = build_report(
        assembly,
        plan,
        check_settings(plan),
        lint=lint,
        baseline=baseline,
        org_file=Path(org_file),
        assembly=cloud_assembly,
        fresh=fresh,
    )
    print(f"audit written to {write_audit(report, assembly)}")
    return 0


def print_cost(
    assembly: Path, *, by_type: bool = False, markdown: bool = False, baseline: Path | None = None
) -> None:
    from blueprint.assembly.cost import (
        by_resource_type,
        compare,
        comparison_table,
        cost_markdown,
        cost_table,
        estimate_costs,
    )
    from blueprint.model.prices import load_prices

    prices = load_prices()
    if baseline is not None:
        require_baseline(baseline)
    report = estimate_costs(read_assembly(assembly), prices)
    if markdown:
        print(cost_markdown(report))
        return
    print(cost_table(report))
    if by_type:
        print("\nby resource type, USD/month:")
        for kind, usd in by_resource_type(report).items():
            print(f"  {kind:<45} {usd:>12,.2f}")
    if baseline is not None:
        before = estimate_costs(read_assembly(baseline), prices)
        print(f"\nagainst {baseline}:")
        print(comparison_table(compare(report, before)))


def print_summary(assembly: Path) -> int:
    """Print what a synthesized assembly holds; exit 1 if any nag finding is unacknowledged."""
    from blueprint.assembly.audit_controls import acknowledgments_by_pack

    cloud_assembly = read_assembly(assembly)
    report = cloud_assembly.nag_report
    if not report:
        raise AssemblyError(f"{assembly}: no nag-report.json; run `make synth` first")
    print(f"{assembly}: {len(cloud_assembly.stacks)} templates")
    unacknowledged = 0
    by_pack, other = acknowledgments_by_pack(report)
    for pack in report["packs"]:
        count = len(pack["unacknowledged"])
        unacknowledged += count
        print(
            f"  cdk-nag {pack['pack']}: {count} unacknowledged finding(s), "
            f"{len(by_pack[pack['pack']])} acknowledged"
        )
    total = sum(map(len, by_pack.values()))
    print(
        f"  acknowledged findings: {total} of the packs, {len(other)} cfn-lint ignores and "
        "annotations (each on one resource, with its reason; the audit lists them)"
    )
    return 1 if unacknowledged else 0


if __name__ == "__main__":
    raise SystemExit(main())
