"""Fault matrix: a secret given to the run appears in none of its outputs.

Reproduce commands repeat the invocation's options; a storage option or a token among them is
shown as ``***`` in the terminal, the annotations, the step summary, the JSON report and JUnit.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_atom_gates.ordering import shuffled_order
from tests.conftest import Gates, reproduce_arguments

SECRETS = ("CLISECRETVALUE", "OSECRETVALUE", "INISECRETVALUE", "ENVSECRETVALUE", "CONFSECRET")

SUITE = {
    "state": "flags = {'ready': False}\n",
    "test_s": (
        "import state\n\ndef test_polluter():\n    state.flags['ready'] = True\n\n"
        "def test_victim():\n    assert not state.flags['ready']\n"
    ),
}


@pytest.mark.parametrize("engine", ["single", "xdist"])
def test_no_secret_in_any_output(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, github_summary: Path, engine: str
) -> None:
    pytester.makepyfile(**SUITE)
    pytester.makeconftest("def pytest_addoption(parser):\n    parser.addoption('--api-token')\n")
    pytester.makeini(
        "[pytest]\n"
        "pythonpath = .\n"
        "atom_gates_lancedb_storage_option = azure_storage_account_key=INISECRETVALUE\n"
    )
    summary = github_summary
    monkeypatch.setenv("PYTEST_ADDOPTS", "--api-token ENVSECRETVALUE")
    chains = [["test_s.py", "test_s.py::test_polluter"], ["test_s.py", "test_s.py::test_victim"]]
    seed = next(seed for seed in range(100) if shuffled_order(chains, seed) == [0, 1])
    junit = pytester.path / "junit.xml"
    run = Gates(pytester, engine).run(
        f"--atom-gates-seed={seed}",
        "--atom-gates-min-pass-rate=0",
        "--atom-gates-lancedb-storage-option=aws_secret_access_key=CLISECRETVALUE",
        "-o",
        "atom_gates_lancedb_storage_option=aws_session_token=OSECRETVALUE",
        "--api-token=CONFSECRET",
        f"--junitxml={junit}",
        *(["--dist=loadfile"] if engine == "xdist" else []),
    )
    (check,) = run.report["order_checks"]
    assert check["result"] == "order-dependent", run.output
    shown = reproduce_arguments(check["reproduce"])
    assert shown[2:4] == ["--api-token", "***"]
    assert "--atom-gates-lancedb-storage-option=aws_secret_access_key=***" in shown
    assert "atom_gates_lancedb_storage_option=aws_session_token=***" in shown
    assert "--api-token=***" in shown
    outputs = {
        "terminal": run.output,
        "JSON report": run.report_path.read_text(encoding="utf-8"),
        "step summary": summary.read_text(encoding="utf-8"),
        "JUnit XML": junit.read_text(encoding="utf-8"),
    }
    assert "::error" in run.output  # the annotations are part of the terminal output
    leaked = {
        name: [secret for secret in SECRETS if secret in text] for name, text in outputs.items()
    }
    assert leaked == {name: [] for name in outputs}


def test_the_alone_run_still_gets_the_real_value(
    pytester: pytest.Pytester, gates: Gates, tmp_path: Path
) -> None:
    """Hiding is for display only: the child is given the value itself."""
    pytester.makeconftest("def pytest_addoption(parser):\n    parser.addoption('--api-token')\n")
    pytester.makepyfile(
        test_t=(
            "def test_needs_token(request):\n"
            "    assert request.config.getoption('api_token') == 'REAL'\n"
            "    assert 0, 'fails with the token'\n"
        )
    )
    run = gates.run("--api-token=REAL", "--atom-gates-reruns=0", "--atom-gates-min-pass-rate=0")
    (check,) = run.report["order_checks"]
    assert (check["result"], check["detail"]) == (
        "fails-alone",
        "failed when run alone too, and in file order",
    )
