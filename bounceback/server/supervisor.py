"""Run a few child processes as one: start together, stop together.

`bounceback serve` uses this to run the web server and a worker from one
terminal. It is deliberately small: no restarts, no reloading. If a child dies
on its own, something is wrong, and the honest move is to stop everything and
say which one failed, so a process manager (or the person at the terminal)
notices.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import TextIO

from bounceback.server.lifetime import die_with_parent_hook

# Exit statuses that mean "stopped because we asked": a clean exit, or the
# signal itself when it arrived before the child had set up its own handlers.
_ASKED_TO_STOP = {0, -signal.SIGTERM, -signal.SIGINT}


@dataclass
class Child:
    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def poll(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def signal(self, signum: int) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signum)


def _exit_description(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with status {code}"


class Supervisor:
    def __init__(
        self,
        children: Sequence[Child],
        *,
        stop_timeout: float = 30.0,
        err: TextIO = sys.stderr,
    ) -> None:
        self.children = list(children)
        self.stop_timeout = stop_timeout
        self.err = err
        self._signals: list[int] = []

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        # Only record it; the main loop acts, so nothing here races Popen.
        self._signals.append(signum)

    def start(self) -> None:
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)
        for child in self.children:
            child.process = subprocess.Popen(  # noqa: S603 (our own argv, no shell)
                child.argv,
                stdin=subprocess.DEVNULL,
                # Own process group: Ctrl-C in the terminal reaches only this
                # supervisor, which then stops each child exactly once. A child
                # hit twice (terminal + us) would take it as "stop at once".
                process_group=0,
                preexec_fn=die_with_parent_hook(),
            )

    def _say(self, message: str) -> None:
        print(message, file=self.err, flush=True)

    def _signal_all(self, signum: int) -> None:
        for child in self.children:
            child.signal(signum)

    def wait(self) -> int:
        """Wait until every child has exited; return the exit status for the supervisor."""
        stopping_since: float | None = None
        escalated = False
        failure: str | None = None
        exited: dict[str, int] = {}

        while len(exited) < len(self.children):
            if self._signals and stopping_since is None:
                stopping_since = time.monotonic()
                self._say("Stopping (press Ctrl-C again to stop at once)...")
                self._signal_all(signal.SIGTERM)
            elif len(self._signals) > 1 and not escalated:
                escalated = True
                self._say("Stopping at once.")
                # A second SIGINT is each child's own "stop now": gunicorn drops
                # open requests, the worker abandons its task (it will be retried).
                self._signal_all(signal.SIGINT)

            for child in self.children:
                code = child.poll()
                if code is None or child.name in exited:
                    continue
                exited[child.name] = code
                if stopping_since is None:
                    failure = f"The {child.name} process {_exit_description(code)} unexpectedly."
                    self._say(f"{failure} Stopping the others.")
                    stopping_since = time.monotonic()
                    self._signal_all(signal.SIGTERM)

            if stopping_since is not None and time.monotonic() - stopping_since > self.stop_timeout:
                for child in self.children:
                    if child.poll() is None:
                        self._say(f"The {child.name} process did not stop in time; killing it.")
                        child.signal(signal.SIGKILL)
                stopping_since = time.monotonic()
            time.sleep(0.1)

        if failure is not None or escalated:
            return 1
        unclean = {name: code for name, code in exited.items() if code not in _ASKED_TO_STOP}
        for name, code in unclean.items():
            self._say(f"The {name} process {_exit_description(code)} while stopping.")
        return 1 if unclean else 0
