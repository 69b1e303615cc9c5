"""The docs cannot drift from the code.

The options reference and the report schema are rendered from the code by the site's hook
(``docs/hooks/generated.py``); these tests render the pages the same way and hold them against
what pytest itself lists in ``--help``: every option and ini key is documented, and the docs, the
README and the example workflows name no option that does not exist.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest

from pytest_atom_gates.reporting.json_report import schema
from pytest_atom_gates.settings import OPTIONS

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
OPTION = re.compile(r"--(?:no-)?atom-gates(?:-[a-z0-9]+)*")
INI_KEY = re.compile(r"^  (atom_gates_\w+) \(", re.MULTILINE)


def _render() -> Callable[[str], str]:
    spec = importlib.util.spec_from_file_location("docs_hook", DOCS / "hooks" / "generated.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return cast(Callable[[str], str], module.render)


render = _render()


def page(name: str) -> str:
    """A docs page as the site shows it: with the generated parts rendered."""
    return render((DOCS / name).read_text(encoding="utf-8"))


def all_pages() -> str:
    return "\n".join(page(path.name) for path in sorted(DOCS.glob("*.md")))


@pytest.fixture(scope="module")
def pytest_help(tmp_path_factory: pytest.TempPathFactory) -> str:
    """``pytest --help`` with this plugin installed, as a user sees it."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--help", "-p", "no:cacheprovider"],
        cwd=tmp_path_factory.mktemp("help"),
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def test_every_option_is_documented(pytest_help: str) -> None:
    options = set(OPTION.findall(pytest_help))
    assert "--atom-gates-seed" in options  # the help was read, and has the group
    documented = set(OPTION.findall(all_pages()))
    assert options - documented == set()


def test_every_ini_key_is_documented(pytest_help: str) -> None:
    keys = set(INI_KEY.findall(pytest_help))
    assert "atom_gates_seed" in keys
    pages = all_pages()
    assert {key for key in keys if not re.search(rf"\b{key}\b", pages)} == set()


def test_docs_name_only_options_that_exist(pytest_help: str) -> None:
    texts = [all_pages(), (ROOT / "README.md").read_text(encoding="utf-8")]
    texts += [p.read_text(encoding="utf-8") for p in (ROOT / "examples").rglob("*.yml")]
    mentioned = set(OPTION.findall("\n".join(texts)))
    assert mentioned - set(OPTION.findall(pytest_help)) == set()


def test_options_reference_is_generated_from_the_registry() -> None:
    reference = page("configuration.md")
    assert "<!-- atom-gates:" not in reference
    for spec in OPTIONS:
        section = reference.split(f"### `{spec.option}`", 1)[1].split("###", 1)[0]
        assert spec.help in section
        assert ("ini key: none" if spec.cli_only else f"ini key: `{spec.ini}`") in section
        assert f"accepts: {spec.accepted}" in section
        default = f"`{spec.default}`" if spec.default is not None else "unset"
        assert f"default: {default}" in section


def test_schema_reference_covers_every_field() -> None:
    reference = page("reports.md")
    document = schema()
    assert "<!-- atom-gates:" not in reference
    for name in document["properties"]:
        assert f"| `{name}` |" in reference
    for name, definition in document["$defs"].items():
        assert f"### `{name}`" in reference
        for field in definition.get("properties", {}):
            assert f"| `{field}` |" in reference
    assert '"$schema": "https://json-schema.org/draft/2020-12/schema"' in reference


def test_help_says_when_a_rerun_runs(pytest_help: str) -> None:
    shown = " ".join(pytest_help.split())
    assert (
        "--atom-gates-reruns=N TQ-04: rerun a failed test up to N more times, each after "
        "--atom-gates-rerun-delay: it waits in a queue while later tests run, or in place when a "
        "module or class fixture holds it. Default: 2."
    ) in shown
    assert "right after it failed" not in all_pages() + shown


def test_help_states_every_default(pytest_help: str) -> None:
    shown = " ".join(pytest_help.split())
    for spec in OPTIONS:
        if spec.default is None or spec.flag:
            continue
        given = f"{spec.option}={spec.metavar} {spec.help} Default: {spec.default}."
        assert given in shown
        ini = rf"{spec.ini} \([a-z |]+\): {re.escape(spec.help)} Default: {spec.default}\. Accepts "
        assert re.search(ini, shown)


def _hook(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, DOCS / "hooks" / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


example_run = _hook("example_run")

RUN_OUTPUT = """\
============================= test session starts ==============================
atom-gates: seed 1234 | reproduce with --atom-gates-seed=1234
atom-gates: TQ-01 independence | TQ-02 pass rate >= 50 %
atom-gates: TQ-03 duration <= 3600 s
atom-gates: no test counts as new
collected 3 items

tests/test_a.py .F.                                                      [100%]
================================== atom-gates ==================================
gate   name       verdict  measured        required
TQ-02  pass rate  PASS     66.67 % (2/3)   >= 50 %
TQ-03  duration   PASS     1.25 s          <= 3600 s

tolerated failures, within the TQ-02 minimum of 50 % (1):
  tests/test_a.py::test_b - AssertionError

coverage (TQ-05):
  99 % of 239 statements
atom-gates: PASS - every enforced gate passed (seed 1234)
========================= 1 failed, 2 passed in 1.30s ==========================
"""


def test_docs_sample_is_the_run_header_and_whole_summary() -> None:
    page = "Before\n\n<!-- atom-gates: example-run -->\n\nAfter\n"
    lines = RUN_OUTPUT.splitlines()
    expected = "\n".join([*lines[1:4], "...", *lines[8:19]])
    assert example_run.render(page, RUN_OUTPUT) == f"Before\n\n```text\n{expected}\n```\n\nAfter\n"


def test_readme_sample_stops_before_coverage_and_ignores_only_durations() -> None:
    lines = RUN_OUTPUT.splitlines()
    short = example_run.short_sample(RUN_OUTPUT)
    # The header's seed and gate lines, not its notes.
    assert short == "\n".join([*lines[1:4], "...", *lines[8:15], lines[18]])
    same = example_run._without_durations
    assert same(short) == same(short.replace("1.25 s  ", "12.5 s  "))
    # A longer duration widens its column: the other columns move, and that is no difference.
    assert same(short) == same(short.replace("1.25 s  ", "112.25 s    "))
    assert same(short) != same(short.replace("(2/3)", "(3/4)"))


def test_an_output_without_the_summary_is_an_error_naming_it() -> None:
    with pytest.raises(example_run.SampleRunError, match="has no gates' summary"):
        example_run.short_sample("collected 0 items\n")


def test_readme_sample_is_checked_by_the_docs_build() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    sample = example_run.readme_sample(readme)
    assert sample.startswith(
        f"atom-gates: seed {example_run.SEED} | reproduce with "
        f"--atom-gates-seed={example_run.SEED}\natom-gates: TQ-01 independence | "
    )
    assert sample.endswith(f"(seed {example_run.SEED})")
    assert "docs/hooks/example_run.py" in (ROOT / "mkdocs.yml").read_text(encoding="utf-8")


ADDOPTS_ADVICE = (
    "Put `--atom-gates` in `addopts` and give your IDE's pytest runs `--no-atom-gates`."
)


@pytest.mark.parametrize("page", ["README.md", "docs/index.md", "docs/ide.md", "docs/migration.md"])
def test_every_page_gives_the_same_advice_on_addopts(page: str) -> None:
    """Where to put ``--atom-gates`` is one sentence, the same on every page that says it."""
    text = " ".join((ROOT / page).read_text(encoding="utf-8").split())
    assert ADDOPTS_ADVICE in text


def test_no_page_says_to_keep_the_gates_out_of_addopts() -> None:
    pages = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
    contrary = re.compile(r"out of `addopts`|rather than in `addopts`|not in `addopts`")
    said = [
        page.name
        for page in pages
        if contrary.search(" ".join(page.read_text(encoding="utf-8").split()))
    ]
    assert said == []


SITE = "https://pytest-atom-gates.github.io/pytest-atom-gates/"
SITE_POINTER = "On GitHub the next block is a placeholder: read it on [the site]({url})"
GENERATED = re.compile(r'^(?:<!-- atom-gates: [\w .-]+ -->|```\w+\n--8<-- "([^"]+)")$', re.M)


def test_every_generated_block_has_a_pointer_to_the_site_that_the_site_leaves_out() -> None:
    """The raw pages on GitHub show placeholders; the line before each points to the site."""
    placeholders = 0
    for path in sorted(DOCS.glob("*.md")):
        raw = path.read_text(encoding="utf-8")
        url = SITE if path.stem == "index" else f"{SITE}{path.stem}/"
        for match in GENERATED.finditer(raw):
            placeholders += 1
            before = raw[: match.start()].splitlines()[-2:]
            pointer = SITE_POINTER.format(url=url)
            if match.group(1):  # an included file: readable in the repository too
                pointer += f" or in [{match.group(1)}](../{match.group(1)})"
            assert before == [pointer + ".", ""], f"{path.name}: {match.group(0)}"
        assert "On GitHub the next block" not in page(path.name)
    assert placeholders == 7


def test_the_site_is_published_where_the_package_says_its_documentation_is() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert f'\nDocumentation = "{SITE}"\n' in pyproject
    assert f"\nsite_url: {SITE}\n" in (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    workflow = (ROOT / ".github" / "workflows" / "docs.yml").read_text(encoding="utf-8")
    # The site built by the docs environment (mkdocs --strict) is the folder that is published.
    assert "run: tox run -e docs -- site\n" in workflow
    assert "upload-pages-artifact@" in workflow
    assert "          path: site/\n" in workflow
    assert "uses: actions/deploy-pages@" in workflow
    tox = (ROOT / "tox.ini").read_text(encoding="utf-8")
    assert "mkdocs build --strict --site-dir {posargs:{env_tmp_dir}/site}" in tox
