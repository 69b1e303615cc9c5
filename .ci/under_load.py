"""Run a command with CPU-bound busy loops beside it: ``python .ci/under_load.py N -- COMMAND``.

A test that passes only on an idle machine (a wall-time assertion, a race with a timer) is a
flaky test of this suite; on a busy machine its timing is what a CI runner's neighbours make it.
N processes spin from before COMMAND starts until it ends, and the command's exit status is
this script's.
"""

from __future__ import annotations

import multiprocessing
import subprocess
import sys


def spin() -> None:
    while True:
        pass


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--" or not argv[0].isdigit():
        sys.stderr.write("usage: python .ci/under_load.py N -- COMMAND [ARGS...]\n")
        return 2
    loops = [multiprocessing.Process(target=spin, daemon=True) for _ in range(int(argv[0]))]
    for loop in loops:
        loop.start()
    print(f"under_load: {len(loops)} busy loops beside: {' '.join(argv[2:])}", flush=True)
    try:
        return subprocess.call(argv[2:])
    finally:
        for loop in loops:
            loop.terminate()
            loop.join()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
