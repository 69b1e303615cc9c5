"""Settings: CLI over ini over defaults, and every bad value refused before tests run."""

from __future__ import annotations

import pytest

from tests.conftest import NO_COVERAGE, Gates, no_traceback


@pytest.fixture
def one_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_one="def test_one():\n    pass\n")


@pytest.mark.usefixtures("one_test")
@pytest.mark.parametrize(
    ("option", "fragment"),
    [
        ("--atom-gates-min-pass-rate=abc", "not a number"),
        ("--atom-gates-min-pass-rate=100.5", "outside 0..100"),
        ("--atom-gates-min-pass-rate=-1", "outside 0..100"),
        ("--atom-gates-min-pass-rate=nan", "not a finite number"),
        ("--atom-gates-max-duration=-5", "negative"),
        ("--atom-gates-max-duration=0", "not a positive duration"),
        ("--atom-gates-max-duration=soon", "not a duration"),
        ("--atom-gates-max-test-duration=1d", "not a duration"),
        ("--atom-gates-seed=4294967296", "larger than 4294967295"),
        ("--atom-gates-seed=-1", "negative"),
        ("--atom-gates-seed=lucky", "not a whole number, 'random' or 'last'"),
        ("--atom-gates-mode=TQ-09:off", "unknown gate 'TQ-09'"),
        ("--atom-gates-mode=TQ-02:maybe", "unknown mode 'maybe'"),
        ("--atom-gates-mode=TQ-02", "missing ':' between gate and mode"),
        ("--atom-gates-order-checks=many", "not a whole number >= 0"),
        ("--atom-gates-order-checks=3x", "not a whole number >= 0"),
        ("--atom-gates-slowest=-3", "not a whole number >= 0"),
    ],
)
def test_bad_option_is_a_usage_error(pytester: pytest.Pytester, option: str, fragment: str) -> None:
    result = pytester.runpytest("--atom-gates", option)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    name, _, value = option.partition("=")
    result.stderr.fnmatch_lines(
        [f"ERROR: {name}: invalid value {value!r} ({fragment}). Accepted: *"]
    )
    assert no_traceback(result.stdout.str() + result.stderr.str())
    result.stdout.no_fnmatch_line("*collected*")


@pytest.mark.usefixtures("one_test")
def test_bad_ini_value_names_the_file(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\natom_gates_min_pass_rate = ninety\n")
    result = pytester.runpytest("--atom-gates")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: ini option atom_gates_min_pass_rate in *tox.ini: invalid value 'ninety' "
            "(not a number). Accepted: a percentage from 0 to 100*"
        ]
    )


@pytest.mark.usefixtures("one_test")
def test_bad_ini_bool(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\natom_gates_strict = sometimes\n")
    result = pytester.runpytest("--atom-gates")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*atom_gates_strict*'sometimes' (not a boolean). Accepted: true or false*"]
    )


@pytest.mark.usefixtures("one_test")
def test_bad_values_are_ignored_without_the_flag(pytester: pytest.Pytester) -> None:
    """Opt-in: without --atom-gates the plugin reads nothing and changes nothing."""
    pytester.makeini("[pytest]\natom_gates_min_pass_rate = ninety\n")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)


def test_cli_beats_ini_beats_default(pytester: pytest.Pytester, gates: Gates) -> None:
    pytester.makepyfile(
        test_mix="""
        import pytest
        @pytest.mark.parametrize("n", range(10))
        def test_n(n):
            assert n != 0
    """
    )
    pytester.makeini("[pytest]\natom_gates_min_pass_rate = 95\natom_gates_mode = TQ-01:off\n")
    from_ini = gates.run()
    assert from_ini.verdict("TQ-02")["required"] == ">= 95 %"
    assert from_ini.verdict("TQ-02")["verdict"] == "FAIL"
    assert from_ini.verdict("TQ-01")["verdict"] == "OFF"
    from_cli = gates.run("--atom-gates-min-pass-rate=90")
    assert from_cli.verdict("TQ-02")["required"] == ">= 90 %"
    assert from_cli.verdict("TQ-02")["verdict"] == "PASS"
    assert from_cli.ret == 0
    pytester.makeini("[pytest]\n")
    default = gates.run()
    assert default.verdict("TQ-02")["required"] == ">= 98 %"
    assert default.report["settings"]["max_duration"] == 3600


def test_modes_from_cli_merge_with_ini(pytester: pytest.Pytester, gates: Gates) -> None:
    pytester.makepyfile(test_fail="def test_fail():\n    assert False\n")
    pytester.makeini("[pytest]\natom_gates_mode = TQ-01:off TQ-03:warn\n")
    run = gates.run("--atom-gates-mode=pass-rate:warn", "--atom-gates-mode=TQ-03:enforce")
    assert run.report["settings"]["modes"] == {
        "TQ-01": "off",
        "TQ-02": "warn",
        "TQ-03": "enforce",
        "TQ-05": "off",
    }
    pass_rate = run.verdict("TQ-02")
    assert (pass_rate["verdict"], pass_rate["mode"]) == ("WARN", "warn")
    assert "not enforced" in pass_rate["reason"]
    assert run.ret == 0


def test_comma_separated_modes(pytester: pytest.Pytester, gates: Gates) -> None:
    pytester.makepyfile(test_ok="def test_ok():\n    pass\n")
    run = gates.run("--atom-gates-mode=TQ-01:off,duration:warn")
    assert run.report["settings"]["modes"] == {"TQ-01": "off", "TQ-03": "warn", "TQ-05": "off"}


def test_no_atom_gates_cancels_addopts(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_ok="def test_ok():\n    pass\n")
    # TQ-05 off: in process it costs seconds (see NO_COVERAGE).
    pytester.makeini(f"[pytest]\naddopts = --atom-gates {NO_COVERAGE}\n")
    gated = pytester.runpytest()
    gated.stdout.fnmatch_lines(["atom-gates: seed *", "*= atom-gates =*"])
    plain = pytester.runpytest("--no-atom-gates")
    plain.assert_outcomes(passed=1)
    plain.stdout.no_fnmatch_line("atom-gates: seed*")
    plain.stdout.no_fnmatch_line("*= atom-gates =*")


def test_duration_units(pytester: pytest.Pytester, gates: Gates) -> None:
    pytester.makepyfile(test_ok="def test_ok():\n    pass\n")
    run = gates.run("--atom-gates-max-duration=1.5h", "--atom-gates-max-test-duration=2m")
    assert run.report["settings"]["max_duration"] == 5400
    assert run.report["settings"]["max_test_duration"] == 120
    assert run.verdict("TQ-03")["required"] == "<= 5400 s, each test <= 120.0 s"


@pytest.mark.usefixtures("one_test")
def test_unwritable_report_path_fails_at_start(pytester: pytest.Pytester) -> None:
    blocker = pytester.path / "not-a-dir"
    blocker.write_text("a file where a folder should be")
    result = pytester.runpytest("--atom-gates", f"--atom-gates-report={blocker}/report.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --atom-gates-report: cannot write *report.json: *"])
    result.stdout.no_fnmatch_line("*collected*")


@pytest.mark.usefixtures("one_test")
def test_report_path_that_is_a_directory(pytester: pytest.Pytester) -> None:
    (pytester.path / "out").mkdir()
    result = pytester.runpytest("--atom-gates", "--atom-gates-report=out")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: --atom-gates-report: cannot write *out: it is a directory*"]
    )


def test_report_path_from_ini_is_relative_to_the_ini_file(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeini("[pytest]\natom_gates_report = reports/gates.json\n")
    sub = pytester.mkdir("sub")
    (sub / "test_ok.py").write_text("def test_ok():\n    pass\n", encoding="utf-8")
    monkeypatch.chdir(sub)  # started from below the ini file's folder
    result = pytester.runpytest("--atom-gates", NO_COVERAGE, "test_ok.py")
    assert result.ret == 0, result.stdout.str()
    assert (pytester.path / "reports" / "gates.json").is_file()
    assert not (sub / "reports").exists()


SETTINGS_AS_TEXT = {
    "atom_gates_min_pass_rate": "80",
    "atom_gates_max_duration": "90.5",
    "atom_gates_seed": "7",
    "atom_gates_strict": "true",
    "atom_gates_reruns": "0",
    "atom_gates_max_flaky": "3",
}
SETTINGS_AS_TOML = """
atom_gates_min_pass_rate = 80
atom_gates_max_duration = 90.5
atom_gates_seed = 7
atom_gates_strict = true
atom_gates_reruns = 0
atom_gates_max_flaky = 3
atom_gates_mode = ["TQ-01:off", "TQ-05:off"]
"""
EXPECTED_SETTINGS = {
    "min_pass_rate": "80",
    "max_duration": 90.5,
    "strict": True,
    "reruns": 0,
    "max_flaky": "3",
    "modes": {"TQ-01": "off", "TQ-05": "off"},
}


def _settings_seen(gates: Gates) -> tuple[int, dict[str, object]]:
    run = gates.run()
    assert run.ret == 0, run.output
    return run.report["seed"], {key: run.report["settings"][key] for key in EXPECTED_SETTINGS}


@pytest.mark.usefixtures("one_test")
@pytest.mark.skipif(pytest.version_tuple < (9, 2), reason="typed ini keys need pytest 9.2")
@pytest.mark.parametrize("where", ["pytest.toml", "pyproject.toml"])
def test_native_toml_takes_numbers_and_booleans(
    pytester: pytest.Pytester, gates: Gates, where: str
) -> None:
    table = "[pytest]" if where == "pytest.toml" else "[tool.pytest]"
    (pytester.path / where).write_text(f"{table}\n{SETTINGS_AS_TOML}", encoding="utf-8")
    assert _settings_seen(gates) == (7, EXPECTED_SETTINGS)


@pytest.mark.usefixtures("one_test")
@pytest.mark.parametrize("where", ["pytest.ini", "tox.ini", "setup.cfg", "ini_options"])
def test_text_settings_still_read_everywhere(
    pytester: pytest.Pytester, gates: Gates, where: str
) -> None:
    if where == "ini_options":
        lines = "".join(f'{key} = "{value}"\n' for key, value in SETTINGS_AS_TEXT.items())
        lines += 'atom_gates_mode = ["TQ-01:off", "TQ-05:off"]\n'
        pytester.makepyprojecttoml(f"[tool.pytest.ini_options]\n{lines}")
    else:
        section = "[tool:pytest]" if where == "setup.cfg" else "[pytest]"
        lines = "".join(f"{key} = {value}\n" for key, value in SETTINGS_AS_TEXT.items())
        lines += "atom_gates_mode = TQ-01:off TQ-05:off\n"
        (pytester.path / where).write_text(f"{section}\n{lines}", encoding="utf-8")
    assert _settings_seen(gates) == (7, EXPECTED_SETTINGS)


@pytest.mark.usefixtures("one_test")
@pytest.mark.skipif(pytest.version_tuple < (9, 2), reason="typed ini keys need pytest 9.2")
def test_a_native_toml_value_of_the_wrong_kind_is_a_usage_error(
    pytester: pytest.Pytester,
) -> None:
    (pytester.path / "pytest.toml").write_text(
        "[pytest]\natom_gates_min_pass_rate = [80]\n", encoding="utf-8"
    )
    result = pytester.runpytest("--atom-gates")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert no_traceback(result.stderr.str())
    result.stderr.fnmatch_lines(["ERROR: *atom_gates_min_pass_rate*expects one of*"])


def test_a_former_ini_name_is_read_with_a_warning_naming_the_new_one(
    pytester: pytest.Pytester, gates: Gates
) -> None:
    pytester.makepyfile(test_fail="def test_fail():\n    assert False\n")
    pytester.makeini("[pytest]\natom_gates_modes = TQ-01:off TQ-02:warn\n")
    run = gates.run("--strict-config")
    assert run.report["settings"]["modes"]["TQ-01"] == "off"
    assert run.verdict("TQ-02")["verdict"] == "WARN"
    run.result.stdout.fnmatch_lines(
        [
            "*PytestConfigWarning: atom_gates_modes is the former name of the ini key "
            "atom_gates_mode (like --atom-gates-mode): rename it; the old name is read until 0.2.0"
        ]
    )
    assert run.result.stdout.str().count("is the former name") == 1


def test_with_both_ini_names_the_new_one_wins_and_the_former_is_said_ignored(
    pytester: pytest.Pytester, gates: Gates
) -> None:
    pytester.makepyfile(test_fail="def test_fail():\n    assert False\n")
    pytester.makeini(
        "[pytest]\natom_gates_modes = TQ-02:off\natom_gates_mode = TQ-01:off TQ-02:warn\n"
    )
    run = gates.run()
    assert run.verdict("TQ-02")["verdict"] == "WARN"
    run.result.stdout.fnmatch_lines(
        [
            "*PytestConfigWarning: both atom_gates_mode and its former name atom_gates_modes "
            "are set: atom_gates_modes is ignored; remove it"
        ]
    )


def test_a_former_ini_name_warns_without_ending_a_run_that_makes_warnings_errors(
    pytester: pytest.Pytester, gates: Gates
) -> None:
    pytester.makepyfile(test_ok="def test_ok():\n    pass\n")
    pytester.makeini("[pytest]\nfilterwarnings = error\natom_gates_modes = TQ-01:off\n")
    run = gates.run()
    assert run.ret == 0, run.output
    assert no_traceback(run.output)
    assert run.report["settings"]["modes"]["TQ-01"] == "off"
    run.result.stdout.fnmatch_lines(["*PytestConfigWarning: atom_gates_modes is the former name*"])
