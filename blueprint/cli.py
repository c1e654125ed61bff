"""The ``blueprint`` command line."""

from __future__ import annotations

import argparse

from blueprint.loader import load_config_or_exit
from blueprint.plan import plan_for


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="blueprint", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    validate = commands.add_parser("validate", help="check an organization file; exit 2 if bad")
    validate.add_argument("file", help="organization YAML file, e.g. environments/example.yaml")
    args = parser.parse_args(argv)

    if args.command == "validate":
        plan = plan_for(load_config_or_exit(args.file))
        print(
            f"{args.file}: valid: organization {plan.prefix}, {len(plan.config.lobs)} LOB(s), "
            f"{len(plan.placements)} account placement(s)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
