"""tox -e browser: wait for the install of Chromium that .ci/run started beside the other
environments, when one is under way (ATOM_GATES_CHROMIUM_PENDING names its status file)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

LIMIT = 900
"""Seconds to wait: apt-get takes about a minute here."""


def main() -> int:
    pending = os.environ.get("ATOM_GATES_CHROMIUM_PENDING")
    if not pending:
        return 0
    status = Path(pending)
    deadline = time.monotonic() + LIMIT
    while not (code := status.read_text(encoding="utf-8").strip()):
        if time.monotonic() > deadline:
            print(f"chromium's install did not end within {LIMIT} s", file=sys.stderr)
            return 1
        time.sleep(1)
    if code != "0":
        print(
            f"installing chromium and chromium-driver failed: apt-get ended with {code}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
