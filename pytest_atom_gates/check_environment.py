"""How TQ-01's checks reach the pytest processes they start, and which engine answers them.

The environment variables a process reads when it is configured, and the engine a user may
choose. Kept apart and small because every run reads it: the check engine itself (servers,
forked copies, state snapshots) is imported only where the checks run.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

ENGINE_ENV = "ATOM_GATES_ORDER_CHECK_ENGINE"
"""``fresh`` makes the checks start a fresh process per question; ``fork``, the default, forks
where the platform allows it."""
ENGINES = ("fork", "fresh")
SERVE_ENV = "ATOM_GATES_FORK_SERVER"
"""Set in a server's environment: the file descriptors it reads questions from and replies on
(not standard input, which pytest's capture replaces), and its folder."""
PYCACHE_ENV = "ATOM_GATES_FORK_SERVER_PYCACHE"
"""Set in a server's environment where the run kept its assertion rewriting
(``kept_bytecode``): the server's bytecode goes there too."""
STATE_ENV = "ATOM_GATES_STATE_SNAPSHOTS"
"""Set in a check's environment: the file its snapshots go to (``StateRecorder``)."""


def engine_choice_problem(environ: Mapping[str, str]) -> str | None:
    """What is wrong with the engine the environment asks for, or None."""
    value = environ.get(ENGINE_ENV)
    if value is None or value in ENGINES:
        return None
    return (
        f"{ENGINE_ENV}={value}: not a way to answer TQ-01's questions. Accepted: fork (the "
        "default: forked copies of one pytest process, where the platform allows it), fresh "
        "(a fresh pytest process per question)."
    )


def fork_unavailable(environ: Mapping[str, str]) -> str | None:
    """Why questions cannot be answered by forked copies here, or None."""
    if environ.get(ENGINE_ENV) == "fresh":
        return f"{ENGINE_ENV}=fresh"
    if not hasattr(os, "fork"):
        return "this platform has no fork()"
    if sys.platform == "darwin":
        return "fork() is unsafe with macOS system frameworks"
    return None
