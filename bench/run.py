"""`make bench`: the Makefile's synth recipe on the example and on generated orgs, the floor,
the structural figures against CloudFormation's quotas; writes docs/BENCHMARKS.md.

    python -m bench.run [--sizes example,10,25,50,100] [--runs 3] [--large-runs 2]
    python -m bench.run --render    # the last run's figures again, with bench/NOTES.md as now

Each run of a size is a cold run (no assembly in the output directory) and then the same
recipe after a change to one LOB (``with_one_lob_changed``), in the same directory, as
`make synth` runs it after an edit.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from blueprint.assembly.reader import critical_path, read_assembly
from blueprint.model.generate import generate_org, with_one_lob_changed

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "environments" / "example.yaml"
NOTES = REPO / "bench" / "NOTES.md"
# The last run's figures, in the workdir: `--render` writes the report again from them.
RESULTS = "results.json"
QUOTA_RESOURCES, QUOTA_BYTES = 500, 1_048_576
TARGET_RESOURCES, TARGET_BYTES, TARGET_DEPTH = 250, 512_000, 4
STEPS = ("validate", "synth", "lint", "summary", "access", "audit")


# Steps `make synth` runs side by side (each still timed from its own start to its end).
SIDE_BY_SIDE = ("access", "audit")


@dataclass
class Run:
    seconds: dict[str, float]
    peak_rss_mb: float  # largest process of the synth step (Python app or its node runtime)
    side_by_side: float = 0.0  # wall seconds of the SIDE_BY_SIDE steps together

    @property
    def total(self) -> float:
        one_by_one = sum(s for step, s in self.seconds.items() if step not in SIDE_BY_SIDE)
        return one_by_one + self.side_by_side


@dataclass
class Size:
    label: str
    lobs: int
    runs: list[Run] = field(default_factory=list)
    changes: list[Run] = field(default_factory=list)
    floor: list[float] = field(default_factory=list)
    stacks: int = 0
    resources: int = 0
    largest_stack: tuple[str, int] = ("", 0)
    largest_template: tuple[str, int] = ("", 0)
    path: list[str] = field(default_factory=list)


def measure(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of ``command``, which must succeed."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"bench: {' '.join(command)} failed")
    return seconds, usage.ru_maxrss / 1024


def measure_together(commands: dict[str, list[str]], env: dict[str, str]) -> dict[str, float]:
    """Wall seconds of each of ``commands``, started together; each must succeed."""
    started = time.perf_counter()
    processes = {
        step: subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL)
        for step, command in commands.items()
    }
    by_pid = {process.pid: step for step, process in processes.items()}
    seconds: dict[str, float] = {}
    while by_pid:
        pid, status, _ = os.wait4(-1, 0)
        step = by_pid.pop(pid, None)
        if step is None:
            continue
        seconds[step] = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"bench: {' '.join(commands[step])} failed")
    return seconds


def org_files(workdir: Path, label: str) -> tuple[Path, Path, int]:
    """The size's organization file, the same after a change to one LOB, and its LOBs."""
    base = yaml.safe_load(EXAMPLE.read_text())
    org = base if label == "example" else generate_org(int(label), base)
    changed, _ = with_one_lob_changed(org)
    paths = (workdir / f"org-{label}.yaml", workdir / f"org-{label}-changed.yaml")
    for path, content in zip(paths, (org, changed), strict=True):
        path.write_text(yaml.safe_dump(content, sort_keys=False))
    return paths[0], paths[1], len(org["lobs"])


def synth_once(org: Path, outdir: Path, env: dict[str, str], *, cold: bool) -> Run:
    """The recipe of `make synth`, step by step (the output directory is the bench's); cold:
    from an empty output directory, else over the assembly already there."""
    if cold:
        shutil.rmtree(outdir, ignore_errors=True)
    env = {**env, "ORG": str(org)}
    env.pop("FULL", None)
    commands = {
        "validate": ["blueprint", "validate", str(org)],
        "synth": ["cdk", "synth", "--quiet", "--output", str(outdir)],
        "lint": ["blueprint", "lint", str(outdir)],
        "summary": ["blueprint", "summary", str(outdir)],
        "access": ["blueprint", "access", str(outdir), "--org", str(org)],
        "audit": ["blueprint", "audit", str(outdir), "--org", str(org)],
    }
    seconds, peak = {}, 0.0
    for step in STEPS:
        if step in SIDE_BY_SIDE:
            continue
        seconds[step], rss = measure(commands[step], env)
        if step == "synth":
            peak = rss
    started = time.perf_counter()
    seconds.update(measure_together({step: commands[step] for step in SIDE_BY_SIDE}, env))
    return Run(seconds, peak, time.perf_counter() - started)


def structure(size: Size, outdir: Path) -> list[list[Any]]:
    stacks = read_assembly(outdir).stacks
    counts = {s.name: len(s.template["Resources"]) for s in stacks}
    sizes = {s.name: s.template_path.stat().st_size for s in stacks}
    size.stacks, size.resources = len(stacks), sum(counts.values())
    size.largest_stack = max(counts.items(), key=lambda item: item[1])
    size.largest_template = max(sizes.items(), key=lambda item: item[1])
    size.path = critical_path(stacks)
    return [[s.name, s.account, s.region, counts[s.name]] for s in stacks]


def floor_once(spec: list[list[Any]], workdir: Path, env: dict[str, str]) -> float:
    spec_file = workdir / "floor.json"
    spec_file.write_text(json.dumps({"stacks": spec}))
    outdir = workdir / "floor.out"
    shutil.rmtree(outdir, ignore_errors=True)
    app = f"{sys.executable} bench/floor_app.py"
    command = ["cdk", "synth", "--quiet", "--app", app, "--output", str(outdir)]
    seconds, _ = measure(command, {**env, "FLOOR_SPEC": str(spec_file)})
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="example,10,25,50,100")
    parser.add_argument("--runs", type=int, default=3, help="runs per size up to 25 LOBs")
    parser.add_argument("--large-runs", type=int, default=2, help="runs at 50 and more LOBs")
    parser.add_argument("--workdir", default=".bench")
    parser.add_argument("--out", default="docs/BENCHMARKS.md")
    parser.add_argument(
        "--render",
        action="store_true",
        help="measure nothing: write the report again from the last run's figures "
        "(RESULTS in the workdir), with bench/NOTES.md as it is now",
    )
    args = parser.parse_args(argv)
    workdir = REPO / args.workdir
    workdir.mkdir(exist_ok=True)
    if args.render:
        recorded = json.loads((workdir / RESULTS).read_text())
        args.runs, args.large_runs = recorded["runs"], recorded["large_runs"]
        sizes = [_size(entry) for entry in recorded["sizes"]]
    else:
        sizes = [measure_size(label, workdir, args) for label in args.sizes.split(",")]
        recorded = {"runs": args.runs, "large_runs": args.large_runs}
        recorded["sizes"] = [asdict(size) for size in sizes]
        (workdir / RESULTS).write_text(json.dumps(recorded, indent=1) + "\n")
    (REPO / args.out).write_text(render(sizes, args))
    print(f"bench: written to {args.out}")
    return 0


def measure_size(label: str, workdir: Path, args: argparse.Namespace) -> Size:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    org, changed, lobs = org_files(workdir, label)
    size = Size(label, lobs)
    runs = args.runs if lobs < 50 else args.large_runs
    outdir = workdir / f"out-{label}"
    for index in range(runs):
        size.runs.append(synth_once(org, outdir, env, cold=True))
        print(f"bench: {label}: cold {index + 1}/{runs}: {size.runs[-1].seconds}", flush=True)
        size.changes.append(synth_once(changed, outdir, env, cold=False))
        print(f"bench: {label}: one LOB changed: {size.changes[-1].seconds}", flush=True)
    spec = structure(size, outdir)
    for _ in range(runs):
        size.floor.append(floor_once(spec, workdir, env))
    print(f"bench: {label}: floor {size.floor}", flush=True)
    return size


def _size(entry: dict[str, Any]) -> Size:
    runs = {key: [Run(**run) for run in entry[key]] for key in ("runs", "changes")}
    largest = {key: (entry[key][0], entry[key][1]) for key in ("largest_stack", "largest_template")}
    return Size(**{**entry, **runs, **largest})


# --- the report ------------------------------------------------------------------------------


def spread(values: list[float]) -> str:
    median = statistics.median(values)
    if len(values) == 1:
        return f"{median:.1f}"
    return f"{median:.1f} ({min(values):.1f} to {max(values):.1f})"


def machine() -> list[str]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory = next(
        int(line.split()[1]) // 1024 // 1024
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    cdk = subprocess.run(["cdk", "--version"], capture_output=True, text=True).stdout.strip()
    from importlib.metadata import version

    return [
        f"- CPU: {cpu}, {os.cpu_count()} cores; memory {memory} GiB; {platform.platform()}",
        f"- Python {platform.python_version()}, Node.js {node}, CDK CLI {cdk}, "
        f"aws-cdk-lib {version('aws-cdk-lib')}, cdk-nag {version('cdk-nag')}, "
        f"cfn-lint {version('cfn-lint')}",
    ]


def render(sizes: list[Size], args: argparse.Namespace) -> str:
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`python -m bench.run`); do not edit by hand: the notes at "
        "the end come from `bench/NOTES.md`.",
        "",
        "## Method",
        "",
        "- Each size runs the recipe of `make synth` step by step: `blueprint validate`, "
        "`cdk synth --quiet` (the app, with the four cdk-nag packs as its gate; LOBs shared "
        "with a worker process on the other core from six LOBs to build), `blueprint lint` "
        "(cfn-lint on each template shape, on every core: the template gate), "
        "`blueprint summary`, then `blueprint access` (the access catalog) and "
        "`blueprint audit` side by side, as the recipe runs them (each timed from the start of "
        "both to its own end; make synth counts the two together once). Times "
        "are wall-clock seconds, median of "
        f"{args.runs} runs ({args.large_runs} at 50 LOBs and more), with the range in brackets.",
        "- Cold: from an empty output directory. One LOB changed: right after each cold run, "
        "the same recipe over the same directory after a use case of one LOB got a larger "
        "daily token budget (`with_one_lob_changed`): the other LOBs' stacks are read back, "
        "only new template shapes are linted.",
        "- `example` is environments/example.yaml (3 LOBs); the other sizes are generated by "
        "`blueprint.model.generate.generate_org` (the example's LOBs cloned, fresh account ids).",
        "- The floor is `bench/floor_app.py`: the same stacks, accounts and regions with the same "
        "number of plain L1 resources each and no logic, synthesized by the same `cdk synth`.",
        "- Peak memory is the largest resident set of one process of the synth step (the Python "
        "app or its jsii node runtime).",
        "- Critical path: the longest chain of stack dependencies in the cloud assembly.",
        "",
        "## Machine",
        "",
        *machine(),
        "",
        "## Figures",
        "",
        "| org | LOBs | stacks | resources | validate | synth | lint | summary | access | audit | "
        "make synth | floor | synth / floor | make synth / floor | peak RSS MB |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | "
        "---: | ---: | ---: |",
    ]
    for size in sizes:
        step = {name: spread([run.seconds[name] for run in size.runs]) for name in STEPS}
        total = statistics.median(run.total for run in size.runs)
        synth = statistics.median(run.seconds["synth"] for run in size.runs)
        floor = statistics.median(size.floor)
        lines.append(
            f"| {size.label} | {size.lobs} | {size.stacks} | {size.resources} | "
            + " | ".join(step[name] for name in STEPS)
            + f" | {spread([run.total for run in size.runs])} | {spread(size.floor)} | "
            f"{synth / floor:.1f} | {total / floor:.1f} | "
            f"{max(run.peak_rss_mb for run in size.runs):.0f} |"
        )
    lines += [
        "",
        "## After a change to one LOB",
        "",
        "| org | LOBs | validate | synth | lint | summary | access | audit | make synth | "
        "of the cold run |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for size in sizes:
        step = {name: spread([run.seconds[name] for run in size.changes]) for name in STEPS}
        total = statistics.median(run.total for run in size.changes)
        cold = statistics.median(run.total for run in size.runs)
        lines.append(
            f"| {size.label} | {size.lobs} | "
            + " | ".join(step[name] for name in STEPS)
            + f" | {spread([run.total for run in size.changes])} | {total / cold:.0%} |"
        )
    lines += [
        "",
        "## Structure against CloudFormation's quotas",
        "",
        f"Quotas: {QUOTA_RESOURCES} resources per stack, 1 MB per template (S3 upload). "
        f"Targets: at most {TARGET_RESOURCES} resources and 500 KB, a critical path of at most "
        f"{TARGET_DEPTH} stacks.",
        "",
        "| org | largest stack | resources | largest template | KB | critical path (stacks) |",
        "| --- | --- | ---: | --- | ---: | --- |",
    ]
    for size in sizes:
        lines.append(
            f"| {size.label} | {size.largest_stack[0]} | {size.largest_stack[1]} | "
            f"{size.largest_template[0]} | {size.largest_template[1] / 1024:.0f} | "
            f"{len(size.path)}: {' → '.join(size.path)} |"
        )
    lines += ["", *marginal(sizes), "", *targets(sizes)]
    if NOTES.exists():
        lines += ["", NOTES.read_text().rstrip()]
    return "\n".join(lines) + "\n"


def marginal(sizes: list[Size]) -> list[str]:
    """Cost of one more LOB: slope between the smallest and the largest org measured."""
    if len(sizes) < 2:
        return []
    small, large = min(sizes, key=lambda s: s.lobs), max(sizes, key=lambda s: s.lobs)
    added = large.lobs - small.lobs

    def slope(key: str) -> float:
        def value(size: Size) -> float:
            if key == "total":
                return statistics.median(run.total for run in size.runs)
            return statistics.median(run.seconds[key] for run in size.runs)

        return (value(large) - value(small)) / added

    return [
        "## Marginal cost per LOB",
        "",
        f"From {small.label} ({small.lobs} LOBs) to {large.label} ({large.lobs} LOBs): "
        f"synth {slope('synth'):.2f} s, lint {slope('lint'):.2f} s, access "
        f"{slope('access'):.2f} s, audit {slope('audit'):.2f} s, "
        f"make synth {slope('total'):.2f} s per added LOB.",
    ]


def targets(sizes: list[Size]) -> list[str]:
    by_label = {size.label: size for size in sizes}
    lines = ["## Targets", "", "| target | measured | met |", "| --- | --- | --- |"]

    def row(target: str, measured: str, met: bool) -> None:
        lines.append(f"| {target} | {measured} | {'yes' if met else 'NO'} |")

    if "example" in by_label:
        example = by_label["example"]
        total = statistics.median(run.total for run in example.runs)
        floor = statistics.median(example.floor)
        row("example make synth <= 60 s", f"{total:.1f} s", total <= 60)
        row("example make synth <= 3x the floor", f"{total / floor:.1f}x", total <= 3 * floor)
        row("example make synth <= 2x the floor", f"{total / floor:.1f}x", total <= 2 * floor)
    if "100" in by_label:
        large = by_label["100"]
        synth = statistics.median(run.seconds["synth"] for run in large.runs)
        total = statistics.median(run.total for run in large.runs)
        row(
            "100 LOBs synthesize <= 180 s (cdk synth, gates included)",
            f"{synth:.0f} s",
            synth <= 180,
        )
        row("100 LOBs make synth (+ cfn-lint, audit) <= 180 s", f"{total:.0f} s", total <= 180)
        change = statistics.median(run.total for run in large.changes)
        row("100 LOBs make synth after a one-LOB change <= 60 s", f"{change:.0f} s", change <= 60)
        catalog = statistics.median(run.seconds["access"] for run in large.runs)
        row("100 LOBs access catalog <= 60 s", f"{catalog:.1f} s", catalog <= 60)
    for size in sizes:
        row(
            f"{size.label}: every stack <= {TARGET_RESOURCES} resources",
            f"{size.largest_stack[1]}",
            size.largest_stack[1] <= TARGET_RESOURCES,
        )
        row(
            f"{size.label}: every template <= 500 KB",
            f"{size.largest_template[1] / 1024:.0f} KB",
            size.largest_template[1] <= TARGET_BYTES,
        )
        row(
            f"{size.label}: critical path <= {TARGET_DEPTH}",
            f"{len(size.path)}",
            len(size.path) <= TARGET_DEPTH,
        )
    return lines


if __name__ == "__main__":
    sys.exit(main())
