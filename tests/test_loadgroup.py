"""Under ``--dist loadgroup`` pytest-xdist gives grouped tests' node ids an ``@group`` suffix.
The run must draw and decide as one process does: the same per-test seeds, the same order,
the same TQ-01 verdicts, and an ``@`` inside a parameter id is no group."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Gates

pytestmark = pytest.mark.many_processes

SUITE = """
import json, os, random
import pytest

@pytest.mark.xdist_group("mail")
@pytest.mark.parametrize("address", ["user@example.com"])
def test_mail(address):
    assert address.endswith(".org")

@pytest.mark.xdist_group("db")
def test_draw():
    with open(f"draw-{os.environ['DRAW']}.json", "w") as out:
        json.dump(random.random(), out)
"""


def test_grouped_tests_draw_and_are_judged_as_in_one_process(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_groups=SUITE)
    options = ("--atom-gates-seed=7", "--atom-gates-min-pass-rate=0")
    monkeypatch.setenv("DRAW", "one")
    one = Gates(pytester).run(*options, subprocess=True).report
    monkeypatch.setenv("DRAW", "xdist")
    grouped = Gates(pytester, "xdist").run(*options, "--dist=loadgroup").report
    draws = [json.loads((pytester.path / f"draw-{n}.json").read_text()) for n in ("one", "xdist")]
    assert draws[0] == draws[1]

    def verdicts(report: dict) -> dict[str, tuple[str, list[str]]]:
        return {
            c["nodeid"].removesuffix("@mail"): (
                c["result"],
                c["polluters"],
            )
            for c in report["order_checks"]
        }

    expected = {"test_groups.py::test_mail[user@example.com]": ("fails-alone", [])}
    assert verdicts(one) == expected
    assert verdicts(grouped) == expected
