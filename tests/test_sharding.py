"""CI shards end to end: N pytest runs with ``--atom-gates-shard=K/N``, then ``atom-gates merge``.

The merged verdict must equal one run's over the same suite and seed: the same TQ-02 figures,
the same TQ-05 total (``coverage report``'s on the combined data), the same failed and flaky
tests. What does not add up (a missing, crashed or duplicated shard, shards of different runs)
fails or is refused, naming the shard.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import coverage
import jsonschema
import pytest

from pytest_atom_gates import cli
from pytest_atom_gates.reporting.json_report import schema
from pytest_atom_gates.shard import SHARED_SEED_ENV
from tests.conftest import NO_COVERAGE, Gates, no_traceback
from tests.test_coverage import coverage_report

SEED = "--atom-gates-seed=3"

CALC = """
def sign(n):
    if n > 0:
        return 1
    if n < 0:
        return -1
    return 0


def never_called():
    return 42
"""

FLAKY = """
import os

def test_flaky_once():
    marker = os.path.join(os.environ["MARKERS"], "flaky-once")
    if not os.path.exists(marker):
        open(marker, "w").close()
        assert False, "first attempt"
"""


def make_suite(pytester: pytest.Pytester, modules: int = 6) -> None:
    """``modules`` test modules of three tests over ``pkg``; one test fails, one is flaky."""
    pytester.mkpydir("pkg")
    (pytester.path / "pkg" / "calc.py").write_text(CALC, encoding="utf-8")
    for m in range(modules):
        body = "from pkg.calc import sign\n"
        body += "".join(
            f"\ndef test_{i}():\n    assert sign({i - 1}) == {(i > 1) - (i < 1)}\n"
            for i in range(3)
        )
        pytester.makepyfile(**{f"test_m{m}": body})
    pytester.makepyfile(test_broken="def test_broken():\n    assert 1 == 2\n", test_flaky=FLAKY)
    pytester.makepyprojecttoml('[tool.coverage.run]\nsource = ["pkg"]\n')


@pytest.fixture
def markers(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the flaky test leaves its marker; emptied before each run of the suite."""
    folder = tmp_path_factory.mktemp("markers")
    monkeypatch.setenv("MARKERS", str(folder))
    return folder


def reset(markers: Path) -> None:
    for marker in markers.iterdir():
        marker.unlink()


def run_shard(
    pytester: pytest.Pytester,
    k: int,
    n: int,
    *args: str,
    coverage: bool = False,
    subprocess: bool = False,
) -> pytest.RunResult:
    """Shard K of N, its report (and coverage data) in ``shards/K``, as a CI artifact holds them."""
    folder = pytester.path / "shards" / str(k)
    argv = [
        "--atom-gates",
        "--atom-gates-rerun-delay=0",
        f"--atom-gates-shard={k}/{n}",
        f"--atom-gates-report={folder / 'report.json'}",
        *([] if coverage else [NO_COVERAGE]),
        *args,
    ]
    if coverage or subprocess:
        result = pytester.runpytest_subprocess(*argv)
    else:
        result = pytester.runpytest(*argv)
    if coverage:
        shutil.move(pytester.path / ".coverage", folder / ".coverage")
    return result


def reports(pytester: pytest.Pytester, *indexes: int) -> list[str]:
    return [str(pytester.path / "shards" / str(k) / "report.json") for k in indexes]


def merge(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()  # what the in-process shard runs printed
    code = cli.main(["merge", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def read(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def verdict(report: dict[str, Any], gate: str) -> dict[str, Any]:
    return next(v for v in report["verdicts"] if v["gate"] == gate)


def outcome_sets(report: dict[str, Any]) -> dict[str, set[str]]:
    sets: dict[str, set[str]] = {}
    for test in report["tests"]:
        sets.setdefault(test["outcome"], set()).add(test["nodeid"])
    return sets


@pytest.mark.many_processes  # each starts 5 to 10 pytest processes: run on py311 only
@pytest.mark.parametrize("inside", [(), ("-n", "2")], ids=["one-process", "xdist-inside"])
def test_four_shards_merged_equal_one_run(
    pytester: pytest.Pytester,
    markers: Path,
    capsys: pytest.CaptureFixture[str],
    inside: tuple[str, ...],
) -> None:
    make_suite(pytester)
    reset(markers)
    single = Gates(pytester, with_coverage=True).run(SEED, *inside, subprocess=True)
    assert single.ret == 1, single.output
    whole = single.report
    single_total, _ = coverage_report(pytester.path / ".coverage")
    for k in range(1, 5):
        reset(markers)
        shard = run_shard(pytester, k, 4, SEED, *inside, coverage=True)
        output = shard.stdout.str() + shard.stderr.str()
        assert shard.ret == 0, output  # the failure is judged at the merge
        assert no_traceback(output)
    merged_path = pytester.path / "merged.json"
    code, out, err = merge(capsys, *reports(pytester, 1, 2, 3, 4), "-o", str(merged_path))
    assert (code, err) == (1, "")
    merged = read(merged_path)
    jsonschema.validate(merged, schema())
    for gate in ("TQ-02",):
        assert verdict(merged, gate)["measured"] == verdict(whole, gate)["measured"]
        assert verdict(merged, gate)["data"] == verdict(whole, gate)["data"]
    assert verdict(merged, "TQ-02")["measured"] == "95.00 % (19/20)"
    assert outcome_sets(merged) == outcome_sets(whole)
    assert outcome_sets(merged)["failed"] == {"test_broken.py::test_broken"}
    assert outcome_sets(merged)["flaky"] == {"test_flaky.py::test_flaky_once"}
    merged_total, shown = coverage_report(pytester.path / ".coverage")
    assert merged["coverage"]["totals"]["percent"] == merged_total == single_total
    assert verdict(merged, "TQ-05")["measured"].startswith(f"{shown} %")
    assert verdict(merged, "TQ-05")["verdict"] == "PASS"
    assert merged["merge"]["problems"] == []
    assert [s["index"] for s in merged["merge"]["shards"]] == [1, 2, 3, 4]
    assert sum(s["tests"] for s in merged["merge"]["shards"]) == 20
    assert "atom-gates: FAIL - TQ-02 pass rate (seed 3)" in out


def test_a_shard_defers_the_whole_suite_gates(pytester: pytest.Pytester, markers: Path) -> None:
    make_suite(pytester, modules=2)
    result = run_shard(pytester, 1, 2, SEED)
    report = read(pytester.path / "shards" / "1" / "report.json")
    assert verdict(report, "TQ-02")["verdict"] == "DEFERRED"
    assert verdict(report, "TQ-02")["reason"].startswith(
        "judged by atom-gates merge over all 2 shards; shard 1 alone: "
    )
    assert report["shard"]["index"] == 1
    assert report["shard"]["total"] == 2
    assert report["shard"]["tests"] == 8
    assert len(report["shard"]["collection"]) == 8
    assert report["shard"]["assigned"] == len(report["order"])
    assert report["run"]["partial"] is None  # a shard is not a partial run
    result.stdout.fnmatch_lines(
        [
            "atom-gates: seed 3 | shard 1/2 | reproduce with --atom-gates-seed=3",
            # TQ-05 is off in this run: only TQ-02 waits for the merge.
            "atom-gates: PASS - every enforced gate passed; TQ-02 pass rate judged at merge "
            "(seed 3)",
        ]
    )


def test_the_ci_numbers_the_shard(
    pytester: pytest.Pytester, markers: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_suite(pytester, modules=2)
    monkeypatch.setenv("CI_NODE_INDEX", "2")
    monkeypatch.setenv("CI_NODE_TOTAL", "2")
    report = pytester.path / "r.json"
    result = pytester.runpytest("--atom-gates", NO_COVERAGE, SEED, f"--atom-gates-report={report}")
    assert read(report)["shard"]["index"] == 2
    result.stdout.fnmatch_lines(
        ["atom-gates: seed 3 | shard 2/2 | reproduce with --atom-gates-seed=3"]
    )


@pytest.mark.parametrize(
    ("value", "why"),
    [("5/4", "K must be from 1 to 4"), ("0/4", "K must be from 1 to 4"), ("4", "not K/N")],
)
def test_a_shard_out_of_range_is_a_usage_error(
    pytester: pytest.Pytester, value: str, why: str
) -> None:
    pytester.makepyfile("def test_one():\n    pass\n")
    result = pytester.runpytest("--atom-gates", f"--atom-gates-shard={value}")
    assert result.ret == 4
    assert no_traceback(result.stdout.str() + result.stderr.str())
    result.stderr.fnmatch_lines(
        [
            f"ERROR: --atom-gates-shard: invalid value '{value}' ({why}). "
            "Accepted: K/N with 1 <= K <= N, such as 2/4."
        ]
    )


def test_more_shards_than_tests(
    pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]
) -> None:
    pytester.makepyfile("def test_one():\n    pass\n\ndef test_two():\n    pass\n")
    for k in range(1, 5):
        assert run_shard(pytester, k, 4, SEED).ret == 0
    held = [read(Path(path))["shard"]["assigned"] for path in reports(pytester, 1, 2, 3, 4)]
    assert sorted(held) == [0, 0, 1, 1]
    code, out, _ = merge(capsys, *reports(pytester, 1, 2, 3, 4))
    assert code == 0, out
    assert "TQ-02  pass rate       PASS     100.00 % (2/2)" in out


def test_a_missing_shard_fails_naming_it(
    pytester: pytest.Pytester, markers: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_suite(pytester, modules=3)
    for k in (1, 2, 3):
        run_shard(pytester, k, 4, SEED, "--atom-gates-min-pass-rate=0")
    code, out, _ = merge(capsys, *reports(pytester, 1, 2, 3))
    assert code == 1
    assert (
        "  TQ-02 FAIL: shard 4 of 4 is missing: no report (it crashed, was cancelled, or its "
        "artifact was not downloaded); its tests count as not run;"
    ) in out
    assert "tests that did not run (" in out


@pytest.mark.many_processes  # each starts 5 to 10 pytest processes: run on py311 only
def test_a_crashed_shard_is_a_missing_shard(
    pytester: pytest.Pytester, markers: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_suite(pytester, modules=2)
    pytester.makeconftest(
        "import os\n\ndef pytest_collection_finish(session):\n"
        "    if os.environ.get('CRASH_HERE'):\n        os._exit(3)\n"
    )
    run_shard(pytester, 1, 2, SEED, subprocess=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CRASH_HERE", "1")
        crashed = run_shard(pytester, 2, 2, SEED, subprocess=True)
    assert crashed.ret == 3
    assert not (pytester.path / "shards" / "2" / "report.json").exists()
    code, out, err = merge(capsys, *reports(pytester, 1))
    assert (code, err) == (1, "")
    assert "TQ-02 FAIL: shard 2 of 2 is missing" in out


def test_a_duplicated_shard_fails(
    pytester: pytest.Pytester, markers: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_suite(pytester, modules=2)
    for k in (1, 2):
        run_shard(pytester, k, 2, SEED, "--atom-gates-min-pass-rate=0")
    first, second = reports(pytester, 1, 2)
    code, out, _ = merge(capsys, first, second, first)
    assert code == 1
    assert (
        f"  TQ-02 FAIL: shard 1 of 2 was given 2 times ({first}, {first}): only {first} was counted"
    ) in out


def test_shards_with_different_seeds_are_refused(
    pytester: pytest.Pytester, markers: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_suite(pytester, modules=2)
    run_shard(pytester, 1, 2, SEED)
    run_shard(pytester, 2, 2, "--atom-gates-seed=4")
    first, second = reports(pytester, 1, 2)
    code, out, err = merge(capsys, first, second)
    assert (code, out) == (4, "")
    assert err == (
        f"atom-gates merge: error: different seeds: shard 1 ({first}) has 3, shard 2 "
        f"({second}) has 4. Accepted: the JSON reports (--atom-gates-report) of the shards of "
        "one run, --atom-gates-shard=1/N to N/N, with the same seed, settings and collection\n"
    )


def test_shards_that_collected_different_suites_are_refused(
    pytester: pytest.Pytester, markers: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_suite(pytester, modules=2)
    run_shard(pytester, 1, 2, SEED)
    pytester.makepyfile(test_late="def test_new():\n    pass\n")
    run_shard(pytester, 2, 2, SEED)
    first, second = reports(pytester, 1, 2)
    code, _, err = merge(capsys, first, second)
    assert code == 4
    assert (
        f"the shards collected different suites (8 tests in shard 1 ({first}), 9 in shard 2 "
        f"({second}); only in shard 2 ({second}): test_late.py::test_new)"
    ) in err


@pytest.mark.many_processes  # each starts 5 to 10 pytest processes: run on py311 only
def test_durations_recorded_by_a_whole_run_balance_the_shards(
    pytester: pytest.Pytester, markers: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_suite(pytester, modules=2)
    durations = pytester.path / "durations.json"
    Gates(pytester).run(SEED, f"--atom-gates-durations={durations}")
    recorded = read(durations)
    assert recorded["version"] == 1
    assert sorted(recorded["durations"]) == sorted(
        [f"test_m{m}.py::test_{i}" for m in range(2) for i in range(3)]
        + ["test_broken.py::test_broken", "test_flaky.py::test_flaky_once"]
    )
    for k in (1, 2):
        reset(markers)
        run_shard(pytester, k, 2, SEED, f"--atom-gates-durations={durations}")
    shard = read(Path(reports(pytester, 1)[0]))["shard"]
    assert shard["durations"]["known"] == 8
    durations.write_text('{"version": 1, "durations": {}}', encoding="utf-8")
    code, out, err = merge(capsys, *reports(pytester, 1, 2), "--durations", str(durations))
    assert code == 1, err  # test_broken
    assert f"atom-gates: durations: {durations}" in out
    assert len(read(durations)["durations"]) == 8


def test_a_damaged_durations_file_splits_by_count(pytester: pytest.Pytester, markers: Path) -> None:
    make_suite(pytester, modules=2)
    durations = pytester.path / "durations.json"
    durations.write_text("{", encoding="utf-8")
    result = run_shard(pytester, 1, 2, SEED, f"--atom-gates-durations={durations}")
    result.stdout.fnmatch_lines(
        [
            f"atom-gates: the durations file {durations} is not JSON: *: the shard is split by "
            "test counts (atom-gates merge checks that every shard split alike)"
        ]
    )


def test_merge_writes_junit_and_the_github_step_summary(
    pytester: pytest.Pytester,
    markers: Path,
    capsys: pytest.CaptureFixture[str],
    github_summary: Path,
    junit_schema: Any,
) -> None:
    make_suite(pytester, modules=2)
    for k in (1, 2):
        reset(markers)
        run_shard(pytester, k, 2, SEED)
    github_summary.write_text("", encoding="utf-8")  # the shards' own summaries
    junit = pytester.path / "merged.xml"
    code, out, _ = merge(capsys, *reports(pytester, 1, 2), "--junitxml", str(junit))
    assert code == 1
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures")) == ("8", "1")
    failed = [
        case.get("name") for case in suite.iter("testcase") if case.find("failure") is not None
    ]
    assert failed == ["test_broken"]
    # Each earlier failed attempt, as Surefire writes it, with the traceback the shard kept.
    children = {
        case.get("name"): [child.tag for child in case if child.tag != "properties"]
        for case in suite.iter("testcase")
        if case.get("name") in ("test_broken", "test_flaky_once")
    }
    assert children == {
        "test_broken": ["failure", "rerunFailure", "rerunFailure"],
        "test_flaky_once": ["flakyFailure"],
    }
    rerun = next(suite.iter("rerunFailure"))
    assert rerun.attrib == {"message": "assert 1 == 2", "type": "AssertionError"}
    assert "E       assert 1 == 2" in (rerun.findtext("stackTrace") or "")
    junit_schema.validate(str(junit))
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert properties["atom_gates_seed"] == "3"
    assert properties["atom_gates_TQ-02"] == "FAIL: 87.50 % (7/8), required >= 98 %"
    summary = github_summary.read_text(encoding="utf-8")
    assert summary.startswith("### atom-gates: FAIL - TQ-02 pass rate (seed 3)\n")
    assert "::error title=atom-gates TQ-02 pass rate::FAIL: 87.50 %25 (7/8)" in out


def test_the_module_entry_point_merges_too(pytester: pytest.Pytester) -> None:
    missing = pytester.path / "absent.json"
    done = subprocess.run(
        [sys.executable, "-m", "pytest_atom_gates", "merge", str(missing)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 4
    assert done.stderr.startswith(f"atom-gates merge: error: {missing}: no such file. Accepted: ")
    assert no_traceback(done.stderr)


def test_a_wrong_merge_command_line_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["merge"])
    assert exited.value.code == 4
    assert capsys.readouterr().err.endswith(
        "atom-gates merge: error: the following arguments are required: REPORT\n"
    )


def test_the_command_says_its_version_as_pytest_does(capsys: pytest.CaptureFixture[str]) -> None:
    from pytest_atom_gates import __version__

    with pytest.raises(SystemExit) as exited:
        cli.main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr() == (f"pytest-atom-gates {__version__}\n", "")


@pytest.fixture
def no_ci_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """Outside a CI run: none of the variables a shard takes its seed from."""
    for name in SHARED_SEED_ENV:
        monkeypatch.delenv(name, raising=False)


def test_a_shard_without_a_seed_takes_the_ci_runs(
    pytester: pytest.Pytester, no_ci_run: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile("def test_one():\n    pass\n")
    monkeypatch.setenv("CI_PIPELINE_ID", "81234")
    report = pytester.path / "r.json"
    result = pytester.runpytest(
        "--atom-gates", NO_COVERAGE, "--atom-gates-shard=1/2", f"--atom-gates-report={report}"
    )
    seed = read(report)["seed"]
    result.stdout.fnmatch_lines(
        [
            f"atom-gates: seed {seed} | *",
            f"atom-gates: shard 1/2: seed {seed} from CI_PIPELINE_ID, the same on every shard "
            "of the run",
        ]
    )
    again = pytester.runpytest(
        "--atom-gates", NO_COVERAGE, "--atom-gates-shard=2/2", f"--atom-gates-report={report}"
    )
    again.stdout.fnmatch_lines([f"atom-gates: seed {seed} | *"])


def test_a_shard_without_a_shared_seed_is_a_usage_error(
    pytester: pytest.Pytester, no_ci_run: None
) -> None:
    pytester.makepyfile("def test_one():\n    pass\n")
    result = pytester.runpytest("--atom-gates", "--atom-gates-shard=1/2")
    assert result.ret == 4
    assert no_traceback(result.stdout.str() + result.stderr.str())
    result.stderr.fnmatch_lines(
        [
            "ERROR: --atom-gates-shard=1/2: every shard must use the same seed, and 'random' "
            "gives each its own. Accepted: --atom-gates-seed=N with the same N on every shard "
            "(the CI run's id, say), or run where one of GITHUB_RUN_ID, CI_PIPELINE_ID, "
            "BUILDKITE_BUILD_ID, CIRCLE_WORKFLOW_ID is set."
        ]
    )


@pytest.mark.many_processes  # each starts 5 to 10 pytest processes: run on py311 only
def test_coverage_paths_are_remapped_to_the_merges_checkout(
    pytester: pytest.Pytester, markers: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Shards that measured in another directory (another machine's checkout) still combine:
    their paths are mapped onto the merge's own, and the total is the one run's."""
    make_suite(pytester, modules=2)
    for k in (1, 2):
        reset(markers)
        run_shard(pytester, k, 2, SEED, coverage=True)
    checkout = pytester.path.parent / "elsewhere"
    shutil.copytree(pytester.path / "pkg", checkout / "pkg")
    shutil.copy(pytester.path / "pyproject.toml", checkout)
    merged_path = checkout / "merged.json"
    code, _, err = merge(
        capsys, *reports(pytester, 1, 2), "--root", str(checkout), "-o", str(merged_path)
    )
    assert (code, err) == (1, "")
    merged = read(merged_path)
    # Named relative to the merge's checkout, as coverage.py's reports there name them.
    assert [f["path"] for f in merged["coverage"]["files"]] == ["pkg/__init__.py", "pkg/calc.py"]
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(checkout)
        total, _ = coverage_report(checkout / ".coverage")
    assert merged["coverage"]["totals"]["percent"] == total
    assert merged["coverage"]["data_file"] == str(checkout / ".coverage")
    assert merged["coverage"]["root"] == str(checkout)
    assert verdict(merged, "TQ-05")["verdict"] == "PASS"


def test_a_shard_without_a_report_is_told_the_merge_needs_one(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile("def test_one():\n    pass\n")
    result = pytester.runpytest("--atom-gates", NO_COVERAGE, SEED, "--atom-gates-shard=1/1")
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "atom-gates: this shard writes no report, and atom-gates merge needs one from every "
            "shard: pass --atom-gates-report=PATH"
        ]
    )


def test_a_shard_report_with_its_verdicts_emptied_never_passes(
    pytester: pytest.Pytester, markers: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_suite(pytester, modules=3)
    for k in (1, 2):
        run_shard(pytester, k, 2, SEED, "--atom-gates-min-pass-rate=100")
    first = pytester.path / "shards" / "1" / "report.json"
    document = read(first)
    document["verdicts"] = []
    first.write_text(json.dumps(document), encoding="utf-8")
    code, out, err = merge(capsys, *reports(pytester, 1, 2))
    assert code == 4, out
    assert (
        f"atom-gates merge: error: {first}: verdicts: no verdict of TQ-01, TQ-02, TQ-03, TQ-04, "
        "TQ-05, TQ-06; a shard's report holds one for each built-in gate. Accepted: "
    ) in err


def test_two_shards_that_wrote_one_data_file_are_named(
    pytester: pytest.Pytester, markers: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Run one after the other in one directory, the second shard's data file replaced the
    first's: the merge names both shards and the file, never a bare "no usable data"."""
    make_suite(pytester, modules=2)
    for k in (1, 2):
        reset(markers)
        folder = pytester.path / "shards" / str(k)
        pytester.runpytest_subprocess(
            "--atom-gates",
            "--atom-gates-rerun-delay=0",
            f"--atom-gates-shard={k}/2",
            f"--atom-gates-report={folder / 'report.json'}",
            SEED,
        )
    merged_path = pytester.path / "merged.json"
    code, _, _ = merge(capsys, *reports(pytester, 1, 2), "-o", str(merged_path))
    assert code == 1
    tq05 = verdict(read(merged_path), "TQ-05")
    assert tq05["verdict"] == "FAIL"
    data_file = pytester.path / ".coverage"
    assert (
        f"shard 1 and shard 2 name the same data file {data_file}: a later run wrote over an "
        "earlier one's data, so it holds shard 2's alone. Give each shard a directory of its "
        "own, or a [run] data_file of its own"
    ) in tq05["reason"]
    assert "is not the data file the shard wrote" not in tq05["reason"]


@pytest.mark.many_processes  # each starts 5 to 10 pytest processes: run on py311 only
def test_a_stale_data_file_beside_a_shard_report_is_refused(
    pytester: pytest.Pytester, markers: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A data file left from an earlier run (or another run's artifact) is not the one the shard's
    report recorded: the merge refuses it by its digest, never combining foreign data."""
    make_suite(pytester, modules=2)
    for k in (1, 2):
        reset(markers)
        run_shard(pytester, k, 2, SEED, coverage=True)
    stale = pytester.path / "shards" / "1" / ".coverage"
    stale.unlink()
    earlier = coverage.CoverageData(str(stale))
    earlier.add_lines({str(pytester.path / "pkg" / "calc.py"): [2, 3, 4, 5, 6, 7, 8, 11]})
    earlier.write()
    merged_path = pytester.path / "merged.json"
    code, _, err = merge(capsys, *reports(pytester, 1, 2), "-o", str(merged_path))
    assert (code, err) == (1, "")
    merged = read(merged_path)
    assert merged["coverage"]["missing_workers"] == ["shard 1"]
    tq05 = verdict(merged, "TQ-05")
    assert tq05["verdict"] == "FAIL"
    assert (
        f"shard 1: {stale} is not the data file the shard wrote (its digest differs from the "
        "one in the shard's report): stale, another run's, or written over. It is not combined"
    ) in tq05["reason"]
    kept = pytester.path / "shards" / "2"
    digest = hashlib.sha256((kept / ".coverage").read_bytes()).hexdigest()
    assert read(kept / "report.json")["coverage"]["data_digest"] == f"sha256:{digest}"


def test_a_long_merge_says_how_far_it_is(
    pytester: pytest.Pytester,
    markers: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A merge of large inputs says how far it is at least every 10 s (here every 10 ms, and
    each report slow to read); a quick one prints nothing more, and -q never does."""
    make_suite(pytester, modules=2)
    for k in (1, 2):
        reset(markers)
        run_shard(pytester, k, 2, SEED)
    from pytest_atom_gates import check_progress, report

    load = report.load

    def slow_load(path: str | Path) -> report.Report:
        time.sleep(0.1)
        return load(path)

    monkeypatch.setattr(report, "load", slow_load)
    monkeypatch.setattr(check_progress, "LOG_INTERVAL", 0.01)
    _, out, _ = merge(capsys, *reports(pytester, 1, 2))
    lines = [
        line for line in out.splitlines() if re.fullmatch(r"atom-gates merge: .*, \d+ s", line)
    ]
    assert {re.sub(r", \d+ s$", "", line) for line in lines} <= {
        "atom-gates merge: read 0 of 2 shard reports",
        "atom-gates merge: read 1 of 2 shard reports",
        "atom-gates merge: merging 2 shards",
    }
    assert "atom-gates merge: read 1 of 2 shard reports, 0 s" in lines
    _, quiet, _ = merge(capsys, "-q", *reports(pytester, 1, 2))
    assert "atom-gates merge: read" not in quiet


def test_the_merge_holds_the_combined_coverage_to_the_baseline_and_records_it(
    pytester: pytest.Pytester, markers: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A shard measures part of the suite, so it leaves the baseline alone and says who
    compares; ``atom-gates merge --coverage-baseline`` holds the combined figures to it, and
    records them only when nothing dropped."""
    make_suite(pytester, modules=2)
    for k in (1, 2):
        reset(markers)
        shard = run_shard(
            pytester, k, 2, SEED, "--atom-gates-coverage-baseline=baseline.json", coverage=True
        )
        shard.stdout.fnmatch_lines(
            [
                "  baseline: not compared with baseline.json: a shard; atom-gates merge "
                "--coverage-baseline compares the shards' combined coverage"
            ]
        )
    assert not (pytester.path / "baseline.json").exists()
    argv = [*reports(pytester, 1, 2), "--coverage-baseline", "baseline.json", "-o", "m.json"]
    code, out, err = merge(capsys, *argv)
    assert (code, err) == (1, "")  # test_broken fails TQ-02
    assert "  baseline: recorded in baseline.json" in out.splitlines()
    recorded = read(pytester.path / "baseline.json")
    assert recorded["files"]["pkg/calc.py"] == {
        "branches": 0,
        "missing": 1,
        "missing_branches": 0,
        "percent": 87.5,
        "statements": 8,
    }
    assert verdict(read(pytester.path / "m.json"), "TQ-05")["verdict"] == "PASS"
    # A baseline from a run whose tests also reached never_called():
    recorded["files"]["pkg/calc.py"].update(missing=0, percent=100.0)
    recorded["total"].update(missing=0, percent=100.0)
    (pytester.path / "baseline.json").write_text(json.dumps(recorded), encoding="utf-8")
    code, out, err = merge(capsys, *argv)
    assert (code, err) == (1, "")
    tq05 = verdict(read(pytester.path / "m.json"), "TQ-05")
    assert (tq05["verdict"], tq05["reason"]) == (
        "FAIL",
        "covered lines lost since the baseline, outside the change: pkg/calc.py (-1); the "
        "total fell 12.50 points since the baseline (100.00 % -> 87.50 %), more than the 0.1 "
        "allowed (--atom-gates-coverage-drop)",
    )
    assert "  baseline: compared with baseline.json; kept, since coverage dropped" in (
        out.splitlines()
    )
    assert read(pytester.path / "baseline.json") == recorded


def test_an_unwritable_merge_baseline_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = cli.main(["merge", "r.json", "--coverage-baseline", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 4
    assert err == f"atom-gates merge: error: --coverage-baseline {tmp_path}: it is a directory\n"
