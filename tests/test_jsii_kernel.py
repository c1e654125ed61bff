"""The jsii kernel spoken to directly (blueprint/jsii_kernel.py) against jsii's own relay.

Each probe is a new Python process (the kernel starts when the CDK is imported), its standard
output and error pipes as under `cdk synth`: it builds a small stack whose one call prints a
deprecation warning from JavaScript, synthesizes it, and reports what the kernel was given.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from blueprint.jsii_kernel import (
    KNOWN_RUNTIMES,
    STOP_WAIT_S,
    copy_output,
    direct_channel_applies,
    node_of,
    node_release_is_quiet,
    runtime_version,
)

ROOT = Path(__file__).resolve().parent.parent
PROBE = textwrap.dedent(
    """
    import contextlib, io, json, os, socket, sys, time
    mode = sys.argv[2]
    pair = []
    if mode == "closed-stdin":
        os.close(0)  # the socket pair then takes 0 and 3, the kernel's own descriptor
        ours, theirs = socket.socketpair()
        pair = [ours.fileno(), theirs.fileno()]
        ours.close(), theirs.close()
    if mode == "default-timeout":
        socket.setdefaulttimeout(30)
    leaked_read, leaked_write = os.pipe()
    os.set_inheritable(leaked_write, True)
    from blueprint.jsii_kernel import talk_to_kernel_directly
    direct = talk_to_kernel_directly()
    from aws_cdk import App, Aspects, CfnResource, Stack, aws_sqs
    import jsii
    from jsii._runtime import kernel

    app = App(outdir=sys.argv[1])
    stack = Stack(app, "Probe")
    aws_sqs.Queue(stack, "Queue")
    first = CfnResource(stack, "First", type="AWS::SNS::Topic")
    captured = io.TextIOWrapper(io.BytesIO(), write_through=True)
    with contextlib.redirect_stderr(captured):
        first.add_dependency(CfnResource(stack, "Second", type="AWS::SNS::Topic"))
        deadline = time.monotonic() + 10
        while b"deprecated" not in captured.buffer.getvalue() and time.monotonic() < deadline:
            time.sleep(0.01)
    if mode == "callback-exit":
        @jsii.implements(Aspects.of(stack).__class__ and __import__("aws_cdk").IAspect)
        class Leave:
            def visit(self, node):
                print(f"leaving at {time.monotonic()}", file=sys.stderr, flush=True)
                sys.exit(3)
        Aspects.of(stack).add(Leave())
    template = app.synth().get_stack_by_name("Probe").template

    def parent_of(pid):
        with open(f"/proc/{pid}/stat") as status:
            return int(status.read().rsplit(")", 1)[1].split()[1])

    def command_of(pid):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as line:
                return [part.decode() for part in line.read().split(b"\\0") if part]
        except OSError:  # a process that ended since the listing
            return [""]

    processes = {}
    for name in os.listdir("/proc"):
        with contextlib.suppress(OSError, ValueError):
            processes[int(name)] = parent_of(name)
    children = [pid for pid, parent in processes.items() if parent == os.getpid()]
    descendants = children + [pid for pid, parent in processes.items() if parent in children]
    kernel_pid = next(pid for pid in descendants if command_of(pid)[-1].endswith("program.js"))
    with open(f"/proc/{kernel_pid}/environ", "rb") as environ:
        agent = [entry.decode() for entry in environ.read().split(b"\\0")
                 if entry.startswith(b"JSII_AGENT=")]
    fds = {
        int(fd): os.readlink(f"/proc/{kernel_pid}/fd/{fd}")
        for fd in os.listdir(f"/proc/{kernel_pid}/fd")
    }
    leaked = os.readlink(f"/proc/self/fd/{leaked_write}")
    kernel_command = command_of(kernel_pid)
    child_commands = [command for command in map(command_of, children) if command != [""]]
    blocking = [os.get_blocking(1), os.get_blocking(2)]
    process = kernel.provider._process
    process.stop()
    print(json.dumps({
        "direct": direct,
        "template": template,
        "children": child_commands,
        "kernel": kernel_command,
        "agent": agent,
        "stdin": fds[0],
        "holds_leaked_pipe": leaked in fds.values(),
        "blocking": blocking,
        "captured": captured.buffer.getvalue().decode(),
        "exit": process._process.returncode,
        "pair": pair,
    }))
    """
)
WARNING = "aws-cdk-lib.CfnResource#addDependency is deprecated"


def probe(tmp_path: Path, mode: str, **environ: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **environ}
    return subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path / mode), mode],
        capture_output=True,
        stdin=subprocess.PIPE,  # the kernel's is /dev/null whatever the app's is
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )


def report_of(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return report


def relay_runtime(directory: Path) -> Path:
    """jsii's own runtime, written out as its client writes it: the relay and the kernel."""
    import jsii._embedded.jsii as embedded

    for resource, name in embedded.EMBEDDED_FILES.items():
        target = directory / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((Path(embedded.__file__).parent / resource).read_bytes())
    return directory / embedded.EMBEDDED_FILES[embedded.ENTRYPOINT]


@pytest.fixture(scope="module")
def probes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, subprocess.CompletedProcess[str]]:
    root = tmp_path_factory.mktemp("kernel")
    relay = relay_runtime(root / "runtime")
    return {
        "direct": probe(root, "direct"),
        "relay": probe(root, "relay", JSII_RUNTIME=str(relay)),
    }


def fake_node(directory: Path, version: str) -> dict[str, str]:
    """An environment whose `node` says it is this version."""
    node = directory / "node"
    node.write_text(f"#!/bin/sh\necho {version}\n")
    node.chmod(node.stat().st_mode | stat.S_IEXEC)
    return {"PATH": str(directory)}


def test_the_installed_jsii_runtime_is_one_whose_kernel_was_read() -> None:
    assert runtime_version() in KNOWN_RUNTIMES


def test_the_kernel_is_the_processes_only_child_without_the_relay(
    probes: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    direct, relay = report_of(probes["direct"]), report_of(probes["relay"])
    assert direct["direct"] is True
    assert [Path(command[-1]).name for command in direct["children"]] == ["program.js"]
    assert relay["direct"] is False
    assert [Path(command[-1]).name for command in relay["children"]] == ["jsii-runtime.js"]


def test_the_kernel_is_started_as_the_relay_starts_it(
    probes: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    direct, relay = report_of(probes["direct"]), report_of(probes["relay"])
    assert (
        direct["kernel"][1:-1]
        == relay["kernel"][1:-1]
        == [
            "--max-old-space-size=4069",
            "--preserve-symlinks",
        ]
    )
    assert direct["agent"] == relay["agent"] == [f"JSII_AGENT=Python/{sys.version.split()[0]}"]
    assert direct["stdin"] == relay["stdin"] == "/dev/null"


def test_the_template_is_the_one_built_through_the_relay(
    probes: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    direct, relay = report_of(probes["direct"]), report_of(probes["relay"])
    assert direct["template"] == relay["template"]
    resources = direct["template"]["Resources"]
    assert {"First", "Second"} <= set(resources)
    assert {"AWS::SQS::Queue", "AWS::SNS::Topic"} <= {each["Type"] for each in resources.values()}


def test_what_javascript_prints_goes_through_sys_stderr(
    probes: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    for mode in ("direct", "relay"):
        assert WARNING in report_of(probes[mode])["captured"], mode


def test_the_apps_own_output_stays_blocking(
    probes: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    assert report_of(probes["direct"])["blocking"] == [True, True]
    assert report_of(probes["relay"])["blocking"] == [True, True]


def test_the_kernel_inherits_none_of_the_apps_descriptors(
    probes: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    assert report_of(probes["direct"])["holds_leaked_pipe"] is False
    assert report_of(probes["relay"])["holds_leaked_pipe"] is False


def test_the_kernel_leaves_when_told_to(
    probes: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    assert report_of(probes["direct"])["exit"] == 0
    assert report_of(probes["relay"])["exit"] == 0
    assert "ECONNRESET" not in probes["direct"].stderr


def test_leaving_from_inside_a_callback_ends_the_kernel_at_once(tmp_path: Path) -> None:
    done = probe(tmp_path, "callback-exit")
    ended = time.monotonic()
    assert done.returncode == 3, done.stderr
    left = float(done.stderr.split("leaving at ")[1].split()[0])
    assert ended - left < STOP_WAIT_S
    assert "ECONNRESET" not in done.stderr


def test_a_default_socket_timeout_leaves_the_channel_blocking(tmp_path: Path) -> None:
    report = report_of(probe(tmp_path, "default-timeout"))
    assert report["direct"] is True
    assert "First" in report["template"]["Resources"]


def test_the_kernels_descriptor_already_taken_by_the_socket_pair(tmp_path: Path) -> None:
    report = report_of(probe(tmp_path, "closed-stdin"))
    assert report["pair"] == [0, 3]
    assert report["direct"] is True
    assert "First" in report["template"]["Resources"]


def test_a_runtime_named_in_the_environment_is_started_as_jsii_starts_it() -> None:
    assert direct_channel_applies(os.environ) is True
    assert direct_channel_applies({**os.environ, "JSII_RUNTIME": "/opt/jsii/runtime.js"}) is False


def test_a_node_release_the_relay_warns_about_gets_the_relay(tmp_path: Path) -> None:
    assert direct_channel_applies(fake_node(tmp_path, "v20.20.2")) is False
    assert direct_channel_applies(fake_node(tmp_path, "v22.23.3")) is True
    node = node_of(fake_node(tmp_path, "v22.23.3"))
    assert node is not None
    assert node_release_is_quiet(node, today=date(2027, 4, 29)) is True
    assert node_release_is_quiet(node, today=date(2027, 4, 30)) is False


def test_a_stream_that_fails_loses_the_chunk_not_the_kernels_pipe() -> None:
    read, write = os.pipe()
    tried = threading.Event()

    class Closed:
        def write(self, text: str) -> None:
            tried.set()
            raise ValueError("I/O operation on closed file")

        def flush(self) -> None:
            pass

    copy = copy_output(os.fdopen(read, "rb"), Closed)
    os.write(write, b"[WARNING] first\n")
    assert tried.wait(timeout=10)
    copy.join(timeout=1)
    assert copy.is_alive()
    os.write(write, b"[WARNING] second\n")  # a pipe whose reader had closed: BrokenPipeError
    os.close(write)
    copy.join(timeout=10)
    assert not copy.is_alive()
