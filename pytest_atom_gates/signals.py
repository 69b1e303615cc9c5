"""SIGTERM is an interrupt, like Ctrl-C.

``timeout``, ``docker stop`` and a cancelled CI job send SIGTERM, whose default ends the process
at once: no verdict, no report. While a run with the gates is on, SIGTERM raises
``Terminated`` (a ``KeyboardInterrupt``) in the main thread instead, so pytest stops the way it
stops for Ctrl-C: the tests so far are reported, the verdicts made, the report marked
incomplete. A handler the user or another tool installed is left alone.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any


class Terminated(KeyboardInterrupt):
    """Raised in the main thread when the process receives SIGTERM."""

    def __str__(self) -> str:
        return "SIGTERM"


class SigtermAsInterrupt:
    """Installs the SIGTERM handler for one run and puts the previous one back afterwards."""

    def __init__(self) -> None:
        self.previous: Any = None
        self.installed = False
        self.received = False
        self.raising = True
        """False while verdicts and reports are being made: SIGTERM is noted, and the run,
        already ending, finishes them."""

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # signal handlers can only be set from the main thread
        current = signal.getsignal(signal.SIGTERM)
        if current is not signal.SIG_DFL:
            return
        self.previous = signal.signal(signal.SIGTERM, self._handle)
        self.installed = True

    def uninstall(self) -> None:
        if self.installed and signal.getsignal(signal.SIGTERM) == self._handle:
            signal.signal(signal.SIGTERM, self.previous)
        self.installed = False

    @contextmanager
    def raising_as(self, raising: bool) -> Iterator[None]:
        before, self.raising = self.raising, raising
        try:
            yield
        finally:
            self.raising = before

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.received:
            # A second SIGTERM while the first is being handled, even while the verdicts are
            # made (a gate of an extension may never return): end the process as asked.
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)
            return
        self.received = True
        if self.raising:
            raise Terminated
