"""The polluted state, named: each kind of process-wide change a polluter leaves is said, one
line per change, in the terminal and the JSON report; a pair with none says so."""

from __future__ import annotations

import pytest

from tests.conftest import Gates

PAIRS = {
    "environment": (
        "import os\nos.environ['APP_MAINTENANCE'] = '1'",
        "import os\nassert 'APP_MAINTENANCE' not in os.environ",
    ),
    "cwd": (
        "import os\nos.makedirs('elsewhere', exist_ok=True)\nos.chdir('elsewhere')",
        "import os\nassert not os.getcwd().endswith('elsewhere')",
    ),
    "path": (
        "import sys\nsys.path.insert(0, '/nowhere/plugins')",
        "import sys\nassert '/nowhere/plugins' not in sys.path",
    ),
    "global": ("import state\nstate.ADMIN = True", "import state\nassert not state.ADMIN"),
    "logging": (
        "import logging\nlogging.getLogger('app').setLevel(logging.ERROR)",
        "import logging\nassert logging.getLogger('app').level == logging.NOTSET",
    ),
    "warnings": (
        "import warnings\nwarnings.simplefilter('error', UserWarning)",
        "import warnings\nwarnings.warn('careful', UserWarning)",
    ),
    "timezone": (
        "import os, time\nos.environ['TZ'] = 'Asia/Tokyo'\ntime.tzset()",
        "import time\nassert time.tzname[0] == 'UTC'",
    ),
    "thread": (
        "import threading\n"
        "threading.Thread(target=threading.Event().wait, name='poller', daemon=True).start()",
        "import threading\nassert threading.active_count() == 1",
    ),
    "descriptor": (
        "import state\nstate.HANDLES.append(open('held.txt', 'w'))",
        "import state\nassert not state.HANDLES",
    ),
    "unseen": (
        "import state\nstate.Config.debug = True",
        "import state\nassert not state.Config.debug",
    ),
}
STATE = "ADMIN = False\nHANDLES = []\n\nclass Config:\n    debug = False\n"


IMPORTS = "import logging, os, sys, threading, time, warnings\nimport state\n\n"


def body(code: str) -> str:
    lines = [line for line in code.splitlines() if not line.startswith("import ")]
    return "\n".join(f"    {line}" for line in lines)


@pytest.fixture
def pairs(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    pytester.makepyfile(state=STATE)
    for name, (pollute, check) in PAIRS.items():
        pytester.makepyfile(
            **{
                f"test_{name}": f"{IMPORTS}def test_pollutes():\n{body(pollute)}\n\n"
                f"def test_victim():\n{body(check)}\n"
            }
        )


@pytest.mark.usefixtures("pairs")
def test_each_kind_of_change_a_polluter_leaves_is_named(
    pytester: pytest.Pytester, any_engine: Gates
) -> None:
    # pytest's own warnings plugin undoes a test's filters; without it they stay. In a
    # process of its own: these tests pollute the process that runs them.
    run = any_engine.run(
        "--atom-gates-order=file",
        "--atom-gates-reruns=0",
        *("-p", "no:warnings", "-p", "no:randomly"),
        *(["--dist", "loadfile"] if any_engine.engine == "xdist" else []),
        subprocess=True,
    )
    checks = {c["nodeid"].split(".py")[0]: c for c in run.report["order_checks"]}
    cwd = str(pytester.path)
    changes = {name: checks[f"test_{name}"]["state_changes"] for name in PAIRS}
    assert changes["environment"] == ["os.environ['APP_MAINTENANCE']: unset -> '1'"]
    assert changes["cwd"] == [f"os.getcwd(): {cwd!r} -> {cwd + '/elsewhere'!r}"]
    assert changes["path"] == ["sys.path: added '/nowhere/plugins' (at 0)"]
    assert changes["global"] == ["state.ADMIN: False -> True"]
    assert changes["logging"] == ["logging logger 'app': level NOTSET -> level ERROR"]
    assert changes["warnings"] == ["warnings filters: added error UserWarning (at 0)"]
    assert changes["timezone"] == [
        "os.environ['TZ']: 'UTC' -> 'Asia/Tokyo'",
        "time.tzname: ('UTC', 'UTC') -> ('JST', 'JST')",
    ]
    assert changes["thread"] == ["threads: poller (Thread) left alive"]
    assert changes["descriptor"] == [
        "state.HANDLES: [] -> [<_io.TextIOWrapper name='held.txt' mode='w' encoding='UTF-8'>]",
        f"file descriptors: {cwd}/held.txt left open",
    ]
    assert changes["unseen"] == []
    run.result.stdout.fnmatch_lines(
        [
            "  test_environment.py::test_victim - fails after test_environment.py::test_pollutes *",
            "      leaves os.environ['APP_MAINTENANCE']: unset -> '1'",
            "      reproduce: *",
        ]
    )
    run.result.stdout.fnmatch_lines(
        [
            "  test_unseen.py::test_victim - fails after test_unseen.py::test_pollutes *",
            "      no process-wide change seen",
        ]
    )
