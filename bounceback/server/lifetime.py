"""Tie a process's life to its parent's (Linux), so no child outlives a crash.

A supervisor or worker killed with SIGKILL gets no chance to stop its
children; left alone they would keep running, holding the web port or a
scheduler lock. Linux can deliver a signal to a child when its parent dies.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Callable
from functools import cache

_PR_SET_PDEATHSIG = 1


@cache
def _prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    return ctypes.CDLL(None, use_errno=True).prctl  # type: ignore[no-any-return]


def die_with_parent(signum: int = signal.SIGTERM) -> None:
    """From now on, receive `signum` when the parent process exits. No-op off Linux."""
    prctl = _prctl()
    if prctl is not None:
        prctl(_PR_SET_PDEATHSIG, signum)


def die_with_parent_hook() -> Callable[[], None] | None:
    """A Popen preexec_fn that makes the child die with this process."""
    if _prctl() is None:
        return None
    parent = os.getpid()

    def hook() -> None:
        die_with_parent()
        if os.getppid() != parent:  # the parent died before prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return hook


def forked_children_die_with_this_process() -> None:
    """Every process forked from here on is killed (SIGKILL) if this one dies.

    SIGKILL, not SIGTERM: a forked child starts with its parent's signal
    handlers, and until it installs its own (rq's scheduler does so only once
    it is running) a SIGTERM would reach the parent's handler in the child and
    be ignored. A child of a process that was itself killed outright has no one
    to report to, so there is nothing to stop gracefully for.
    """
    if _prctl() is None:
        return
    forking = [0]

    def before() -> None:
        forking[0] = os.getpid()

    def after_in_child() -> None:
        die_with_parent(signal.SIGKILL)
        if os.getppid() != forking[0]:  # the parent died before prctl took effect
            os._exit(1)

    os.register_at_fork(before=before, after_in_child=after_in_child)
