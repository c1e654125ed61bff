"""The jsii kernel spoken to on a socket of its own, without the relay process between them.

Every call of the CDK from Python is a round trip to the jsii kernel, a node process: about
6,600 per LOB environment built. jsii's Python client starts ``node bin/jsii-runtime.js``, a
relay that checks the node release, starts the kernel (``lib/program.js``) as its own child
and copies each message between its pipes and the kernel's channel, file descriptor 3: every
round trip wakes three processes instead of two. Here the kernel is started directly, one end
of a socket pair as its descriptor 3, the other end read and written by jsii's own framing.

The kernel's standard output and error are pipes of its own, copied by a thread each to
``sys.stdout`` and ``sys.stderr`` as jsii's client copies the relay's: node makes the pipes it
writes to non-blocking, and the app's own would then drop what a slow reader had not taken.

Only for the jsii runtime this was read and measured with (``KNOWN_RUNTIMES``), a node release
the relay starts without a warning (``QUIET_NODE_RELEASES``), on POSIX systems (a shell puts
the socket on descriptor 3), and when ``JSII_RUNTIME`` does not name another runtime:
otherwise jsii starts its relay as before.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import platform
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path
from typing import IO, Any

# The kernel's channel in lib/program.js (SyncStdio's read and write descriptor; one digit, as
# the shell that puts the socket there needs).
KERNEL_CHANNEL = 3
# The runtimes whose relay and kernel were read and measured: another version is started as
# jsii starts it, until it is checked (tests/test_jsii_kernel.py holds the installed one).
KNOWN_RUNTIMES = frozenset({"1.142.0"})
# Node releases the relay of those runtimes starts without a warning, to their end of life
# (its @jsii/check-node table); on any other the relay runs, and says what it says.
QUIET_NODE_RELEASES = {22: date(2027, 4, 30), 24: date(2028, 4, 30)}
# What jsii-runtime.js passes to the kernel: its own node options and --preserve-symlinks.
KERNEL_OPTIONS = ("--max-old-space-size=4069", "--preserve-symlinks")
STOP_WAIT_S = 5.0


def runtime_version() -> str:
    """The version of the jsii runtime that jsii's Python client embeds."""
    from jsii.__meta__ import __jsii_runtime_version__

    return str(__jsii_runtime_version__)


def node_of(environ: Mapping[str, str]) -> str | None:
    """The node jsii would start: ``JSII_NODE`` or ``node``, found on the ``PATH``."""
    return shutil.which(environ.get("JSII_NODE", "node"), path=environ.get("PATH"))


def node_release_is_quiet(node: str, today: date | None = None) -> bool:
    """Whether the relay would start this node without a warning."""
    version = subprocess.run(
        [node, "--version"], capture_output=True, text=True, check=False, timeout=60
    ).stdout
    major = version.strip().removeprefix("v").split(".")[0]
    end_of_life = QUIET_NODE_RELEASES.get(int(major)) if major.isdigit() else None
    return end_of_life is not None and (today or date.today()) < end_of_life


def direct_channel_applies(environ: Mapping[str, str]) -> bool:
    """Whether the kernel can be started directly in this process."""
    if os.name != "posix" or "JSII_RUNTIME" in environ:
        return False
    node = node_of(environ)
    return runtime_version() in KNOWN_RUNTIMES and node is not None and node_release_is_quiet(node)


def talk_to_kernel_directly() -> bool:
    """Start the jsii kernel without its relay from now on; call before the CDK is imported.

    Returns whether it will: see the module's docstring for when it does not.
    """
    if not direct_channel_applies(os.environ):
        return False
    from jsii._kernel.providers import process

    process._NodeProcess.start = _start
    process._NodeProcess.stop = _stop
    return True


def copy_output(source: IO[bytes], sink: Callable[[], IO[Any]]) -> threading.Thread:
    """Copy what the kernel writes to ``source`` to the stream ``sink`` returns, until EOF."""

    def run() -> None:
        with source:
            while chunk := os.read(source.fileno(), 65536):
                # A stream the app closed or replaced loses the chunk, not the kernel's pipe:
                # the kernel's next write to a closed pipe would fail its call.
                with contextlib.suppress(Exception):
                    write(sink(), chunk)

    def write(target: IO[Any], chunk: bytes) -> None:
        binary = getattr(target, "buffer", None)
        if binary is None:
            target.write(chunk.decode(errors="replace"))
        else:
            binary.write(chunk)
        target.flush()

    thread = threading.Thread(target=run, name="jsii kernel output", daemon=True)
    thread.start()
    return thread


class KernelProcess:
    """The kernel as jsii's client uses its process: ``stdin`` and ``stdout`` are the channel."""

    def __init__(self, process: subprocess.Popen[bytes], channel: socket.socket) -> None:
        assert process.stdout is not None and process.stderr is not None
        self.process = process
        self.channel = channel
        self.copies = [
            copy_output(process.stdout, lambda: sys.stdout),
            copy_output(process.stderr, lambda: sys.stderr),
        ]
        self.stdin = channel.makefile("wb")
        self.stdout = channel.makefile("rb")

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    def end(self) -> None:
        """Say exit and close the channel for writing, then wait; terminate, kill if need be."""
        if not self.stdin.closed:
            with contextlib.suppress(OSError):
                self.stdin.write(b'{"exit":0}\n')
                self.stdin.flush()
            with contextlib.suppress(OSError):
                self.stdin.close()
                self.channel.shutdown(socket.SHUT_WR)
        for ending in (None, self.process.terminate, self.process.kill):
            if ending is not None:
                ending()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=STOP_WAIT_S)
                break
        for copy in self.copies:
            copy.join(timeout=STOP_WAIT_S)
        with contextlib.suppress(OSError):
            self.stdout.close()
        self.channel.close()


def spawn_kernel(program: Path, environ: dict[str, str]) -> KernelProcess:
    """Start ``node program.js`` with one end of a new socket pair as its channel."""
    node = node_of(environ)
    if node is None:
        raise FileNotFoundError("node is not on the PATH: the jsii kernel needs Node.js")
    ours, theirs = socket.socketpair()
    ours.setblocking(True)  # not the default timeout of sockets, should one be set
    theirs.setblocking(True)
    with theirs:
        # The socket comes in as the shell's input; the shell moves it to the kernel's
        # channel, gives the kernel /dev/null for input and becomes the kernel.
        process = subprocess.Popen(
            [
                "/bin/sh",
                "-c",
                f'exec "$@" {KERNEL_CHANNEL}<&0 0</dev/null',
                "jsii-kernel",
                node,
                *KERNEL_OPTIONS,
                str(program),
            ],
            stdin=theirs.fileno(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=environ,
        )
    return KernelProcess(process, ours)


def _start(self: Any) -> None:
    environ = dict(os.environ)
    environ["JSII_AGENT"] = f"Python/{platform.python_version()}"
    relay = Path(self._jsii_runtime())
    self._process = spawn_kernel(relay.parent.parent / "lib" / "program.js", environ)
    atexit.register(self.stop)
    self.handshake()


def _stop(self: Any) -> None:
    atexit.unregister(self.stop)
    self._process.end()
    self._ctx_stack.close()
