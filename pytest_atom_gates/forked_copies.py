"""The checks' side of the forked-copies engine (``fork_server``): starts a server, asks it
TQ-01's questions, reads the answers; a fresh process answers where the server cannot."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

from pytest_atom_gates.check_environment import PYCACHE_ENV, SERVE_ENV
from pytest_atom_gates.fork_server import FRESH_ANSWER, LOST
from pytest_atom_gates.gates.independence import FORKED
from pytest_atom_gates.ledger import module_of
from pytest_atom_gates.questions import (
    Answer,
    ChildSpec,
    FreshProcesses,
    Question,
    signal_name,
)

PROBE_OVERHEAD = 0.006
"""Seconds a probe costs beyond its two tests (``fork_server``): the fork, the copy's exit, and
its outcome read back (measured on Linux, a copy of a process holding 10,000 tests)."""


class FreshAnswer(Exception):
    """A question the forked copies cannot answer as a fresh process would: one answers it.
    The message says why."""


class _Server:
    """One server process and the questions it is answering."""

    def __init__(self, spec: ChildSpec, folder: Path) -> None:
        self.spec = spec
        self.folder = folder
        self.log = folder / "server.log"
        reply_read, reply_write = os.pipe()
        question_read, question_write = os.pipe()
        env = {**spec.environment, SERVE_ENV: f"{question_read}:{reply_write}:{folder}"}
        if spec.kept_bytecode is not None:
            env[PYCACHE_ENV] = str(spec.kept_bytecode)
        try:
            with open(self.log, "wb") as log:
                self.process = subprocess.Popen(
                    [
                        *spec.command,
                        f"--atom-gates-report={folder / 'server.json'}",
                        "-o",
                        f"cache_dir={folder / 'cache'}",
                        # The run's own paths: its root and its first conftests are the run's.
                        *spec.arguments(spec.start_args, folder),
                    ],
                    cwd=spec.cwd,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    pass_fds=(question_read, reply_write),
                    start_new_session=True,  # its copies are stopped with it
                )
        except BaseException:
            os.close(reply_read)
            os.close(question_write)
            raise
        finally:
            os.close(reply_write)
            os.close(question_read)
        self.replies = os.fdopen(reply_read, "r", encoding="utf-8")
        self.questions = os.fdopen(question_write, "wb")
        self.ready = threading.Event()
        self.problem: str | None = None
        self._pending: dict[str, tuple[threading.Event, list[int | str | None]]] = {}
        self._lock = threading.Lock()
        self._next = 0
        self.ended = False
        self.reader = threading.Thread(
            target=self._read, daemon=True, name="atom-gates-fork-replies"
        )
        self.reader.start()

    def _read(self) -> None:
        for line in self.replies:
            word, _, rest = line.strip().partition(" ")
            if not self.ready.is_set():
                self.problem = None if word == "ready" else rest
                self.ready.set()
                continue
            with self._lock:
                waiting = self._pending.pop(word, None)
            if waiting is not None:
                waiting[1].append(rest if rest == LOST else int(rest))
                waiting[0].set()
        # The server ended: whoever still waits gets no answer, and nobody asks it again.
        if not self.ready.is_set():
            self.problem = f"it ended before serving ({self._ending()})"
            self.ready.set()
        with self._lock:
            self.ended = True
            pending, self._pending = self._pending, {}
        for event, code in pending.values():
            code.append(None)
            event.set()

    def _ending(self) -> str:
        code = self.process.wait()
        try:
            text = self.log.read_text(encoding="utf-8", errors="backslashreplace")
        except OSError:
            text = ""
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith(("ERROR", "Fatal Python"))]
        last = errors[0] if errors else (lines[-1] if lines else "no output")
        return f"exit {code}: {last}"

    def ask(self, question: Question, timeout: float) -> Answer | None:
        """The answer; None when the server has ended (killed, say, by a test)."""
        with self._lock:
            if self.ended:
                return None
            self._next += 1
            request = str(self._next)
            event, code = self._pending[request] = (threading.Event(), [])
        out = self.folder / f"{request}.json"
        asked = self.folder / f"{request}.question.json"
        spec = self.spec
        asked.write_text(
            json.dumps(
                {
                    "tests": [spec.node_id(n) for n in question.tests],
                    "args": [spec.cli_id(n) for n in question.tests],
                    "file_order": question.file_order,
                    "probes": [spec.node_id(n) for n in question.probes],
                    "stop_at": question.stop_at,
                }
            ),
            encoding="utf-8",
        )
        # The modules a fresh process would import, in its order.
        modules = dict.fromkeys(module_of(n) for n in (*question.collected, *question.tests))
        self._send(
            {
                "id": request,
                "modules": [spec.cli_id(module) for module in modules],
                "question": str(asked),
                "out": str(out),
            }
        )
        if not event.wait(timeout):
            self._send({"kill": request})
            event.wait(5)
            raise subprocess.TimeoutExpired(self.process.args, timeout)
        with contextlib.suppress(OSError):
            asked.unlink()
        try:
            written = json.loads(out.read_text(encoding="utf-8"))
            out.unlink()
        except (OSError, ValueError):
            written = {}
        outcomes = written.get("outcomes", []) if isinstance(written, dict) else []
        ended = code[0]
        if ended is None:  # the server ended: a fresh process answers instead
            return None
        if isinstance(ended, str):  # LOST: the server goes on, a new group answers next time
            raise FreshAnswer("the group its copy was forked from ended first (a test killed it?)")
        if ended == FRESH_ANSWER and isinstance(written, dict) and "fresh" in written:
            raise FreshAnswer(str(written["fresh"]))
        if ended < 0:
            why = f"killed by {signal_name(-ended)}"
        else:
            why = f"exit {ended}: the forked copy wrote no outcome"
        probed = {spec.node_id(n): n for n in question.probes}
        probes = tuple(
            (probed[after], outcome)
            for after, outcome in (written.get("probes", []) if outcomes else [])
            if after in probed
        )
        return Answer(tuple((n, o) for n, o in outcomes), "" if outcomes else why, probes=probes)

    def _send(self, line: dict[str, Any]) -> None:
        data = (json.dumps(line) + "\n").encode()
        with self._lock:
            try:
                self.questions.write(data)
                self.questions.flush()
            except (OSError, ValueError):  # the server ended; its reader answers for it
                pass

    def stop(self) -> None:
        with contextlib.suppress(OSError):  # already gone
            os.killpg(self.process.pid, signal.SIGKILL)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.questions.close()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.stop()
            self.process.wait()
        self.stop()  # copies still running, if any
        self.reader.join(10)  # it reads until the server and its copies are gone
        if not self.reader.is_alive():
            self.replies.close()


class ForkedCopies:
    """Answers each question in a forked copy of one server; where the server cannot serve,
    or the question replays new-test repetitions, a fresh process answers (``fallback``)."""

    mechanism = FORKED

    def __init__(self, spec: ChildSpec, fallback: FreshProcesses) -> None:
        self.spec = spec
        self.fallback = fallback
        self.forked = 0
        self.probes = 0
        """Probes its copies took, besides the questions (``Question.probes``)."""
        self.unusable: str | None = None
        """Why the server could not serve, if it could not."""
        self.handed_over = 0
        """Questions its copies could not answer as a fresh process would."""
        self.handed_over_reason: str | None = None
        self.stopped = False
        """Interrupted: no question is asked any more."""
        self._server: _Server | None = None
        self._folder = tempfile.TemporaryDirectory(prefix="atom-gates-forks-")
        self._lock = threading.Lock()

    def ask(self, question: Question, timeout: float) -> Answer:
        if self.stopped:
            return Answer((), "interrupted")
        if any(n in self.spec.repetitions for n in question.tests):
            # The server runs no new-test repetitions: a fresh process replays them.
            return self.fallback.ask(question, timeout)
        server = self._serving(timeout)
        if server is None:
            return self.fallback.ask(question, timeout)
        try:
            answer = server.ask(question, timeout)
        except FreshAnswer as why:
            with self._lock:
                self.handed_over += 1
                self.handed_over_reason = self.handed_over_reason or str(why)
            return self.fallback.ask(question, timeout)
        if answer is None:
            with self._lock:
                self.unusable = self.unusable or "its server ended while serving"
            return self.fallback.ask(question, timeout)
        with self._lock:
            self.forked += 1
            self.probes += len(answer.probes)
        return answer

    def _serving(self, timeout: float) -> _Server | None:
        with self._lock:
            if self.unusable is not None:
                return None
            if self._server is None:
                try:
                    self._server = _Server(self.spec, Path(self._folder.name))
                except OSError as exc:
                    self.unusable = f"its server could not start: {exc}"
                    return None
            server = self._server
        if not server.ready.wait(timeout):
            server.problem = f"its server did not start within {timeout:.0f} s"
        if server.problem is not None:
            with self._lock:
                self.unusable = self.unusable or f"its server could not serve: {server.problem}"
            server.stop()
            return None
        return server

    def stop(self) -> None:
        self.stopped = True
        if self._server is not None:
            self._server.stop()
        self.fallback.stop()

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
        self._folder.cleanup()
