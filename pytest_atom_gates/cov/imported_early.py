"""Code that ran before measuring started: the import-time lines of measured modules.

Measuring starts as early as a plugin can (``pytest_load_initial_conftests``), yet by then pytest
has imported its own dependencies (pluggy, packaging, iniconfig, ...), every installed plugin and
every plugin given with ``-p``. When one of them is code the run measures, its module-level lines
ran unmeasured, and TQ-05 would count them missing although they ran: a project whose package is
loaded as a ``-p`` plugin gets a false FAIL.

Those modules are imported again in a subprocess that measures from its first line with the run's
own coverage configuration, and its data file joins the run's data: the lines that ``coverage run
-m pytest`` would count. A subprocess, so that nothing in the run itself is imported twice; it
imports what the run had imported, so its side effects are those of any process of the run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    import coverage

IMPORT_TIMEOUT = 120.0
"""Seconds the subprocess may take to import the modules again."""

CONFIG_ENV = "ATOM_GATES_EARLY_IMPORTS_CONFIG"
"""The run's coverage configuration, serialized, for the subprocess (not coverage.py's own
``COVERAGE_PROCESS_CONFIG``, which its ``.pth`` file would act on before the script starts)."""

_SCRIPT = """\
import importlib, json, os, sys
import coverage
paths, names = json.loads(sys.argv[1])
sys.path[:0] = paths
cov = coverage.Coverage(config_file=":data:" + os.environ[sys.argv[2]], data_suffix=True)
cov.start()
failed = []
for name in names:
    try:
        importlib.import_module(name)
    except BaseException as exc:
        failed.append(f"{name} ({type(exc).__name__}: {exc})")
cov.stop()
cov.save()
print(sys.argv[3] + json.dumps(failed))
"""

_DONE = "atom-gates imported: "
"""Starts the subprocess's last line: without it, an import ended the process early."""


def imported_before(cov: coverage.Coverage) -> tuple[str, ...]:
    """The modules already imported whose files ``cov`` measures, by name."""
    inorout = getattr(cov, "_inorout", None)
    should_trace = getattr(inorout, "should_trace", None)
    if should_trace is None:  # a coverage.py that decides differently: nothing can be said
        return ()
    candidate = _candidates(cov)
    found = []
    for name, module in list(sys.modules.items()):
        filename = getattr(module, "__file__", None)
        if not isinstance(filename, str) or not filename.endswith(".py"):
            continue
        if name == "__main__" or not candidate(name, filename):
            continue
        # coverage.py names a file's module from the frame that runs it: this module's globals.
        frame = SimpleNamespace(
            f_globals=vars(module), f_code=SimpleNamespace(co_filename=filename)
        )
        try:
            traced = bool(should_trace(filename, frame).trace)
        except Exception:  # an odd module is one that cannot be judged
            continue
        if traced:
            found.append(name)
    return tuple(sorted(found))


def _candidates(cov: coverage.Coverage) -> Callable[[str, str], bool]:
    """A quick first sieve of the hundreds of modules a pytest process holds, since asking
    coverage.py about each costs tens of microseconds: coverage.py then decides on the rest."""
    sources = [
        *cast("list[str]", cov.get_option("run:source") or []),
        *cast("list[str]", cov.get_option("run:source_pkgs") or []),
    ]
    if sources:
        folders = tuple(
            {
                os.path.join(place(source), "")
                for source in sources
                if os.path.isdir(source)
                for place in (os.path.abspath, os.path.realpath)
            }
        )

        def in_sources(name: str, filename: str) -> bool:
            if any(name == package or name.startswith(package + ".") for package in sources):
                return True
            return bool(folders) and filename.startswith(folders)

        return in_sources
    if cov.get_option("run:include") or cov.get_option("run:cover_pylib"):
        return lambda name, filename: True
    # coverage.py's default: what runs outside the standard library and installed packages.
    stdlib = os.path.join(os.path.dirname(os.__file__), "")
    return lambda name, filename: not filename.startswith(stdlib) and "-packages" not in filename


def measure_imports(cov: coverage.Coverage, names: tuple[str, ...], start_dir: Path) -> str | None:
    """Import ``names`` again in a measured subprocess whose data file joins the run's data
    (the configured data file with a suffix); ``None`` when it did, else why not."""
    serialize = getattr(cov.config, "serialize", None)
    if serialize is None:
        return "coverage.py before 7.10 cannot hand its configuration to another process"
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("COVERAGE_PROCESS_START", "COVERAGE_PROCESS_CONFIG")
    }
    environment[CONFIG_ENV] = serialize()
    paths = [path for path in sys.path if isinstance(path, str)]
    try:
        done = subprocess.run(
            [sys.executable, "-c", _SCRIPT, json.dumps([paths, list(names)]), CONFIG_ENV, _DONE],
            cwd=start_dir,
            env=environment,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=IMPORT_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"importing them again took longer than {IMPORT_TIMEOUT:.0f} s"
    except OSError as exc:
        return f"the process to import them again could not start: {exc}"
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        return f"importing them again failed: {last}"
    said = [line for line in done.stdout.splitlines() if line.startswith(_DONE)]
    if not said:  # os._exit() in an import, say: no data was saved
        return "importing them again ended the process before its data was saved"
    failed = json.loads(said[-1].removeprefix(_DONE))
    if failed:
        return "importing them again failed for " + ", ".join(failed)
    return None


def unmeasured_note(names: tuple[str, ...], problem: str) -> str:
    """What TQ-05's reason says when the import-time lines could not be measured."""
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    return (
        f"the import-time lines of {len(names)} measured modules imported before measuring "
        f"started ({shown}) count as missing: {problem}; `coverage run -m pytest` then "
        "`coverage report` gives the exact figure"
    )
