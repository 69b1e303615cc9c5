"""MkDocs hook: the docs' sample run is a real run of ``examples/``, made when the site builds.

``<!-- atom-gates: example-run -->`` on a line of its own becomes the header line and the gates'
summary of ``pytest --atom-gates --atom-gates-seed=1234`` in a copy of ``examples/``, so the
figures shown cannot go stale. README.md's shorter sample is held against the same run: the
build fails when it differs in anything but the durations, and
``python docs/hooks/example_run.py`` rewrites it from a fresh run.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

SEED = 1234
ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
PLACEHOLDER = "<!-- atom-gates: example-run -->"
README_SAMPLE = re.compile(r"(## What a run shows\n\n```text\n)(.*?)(\n```)", re.S)
RULE = re.compile(r"=+ atom-gates =+")
GATE_LINE = re.compile(r"atom-gates: [A-Z]{2}-\d\d ")
"""A header line of the gates and their thresholds (not a note)."""
COMMAND = ("-m", "pytest", "--atom-gates", f"--atom-gates-seed={SEED}", "-p", "no:cacheprovider")


class SampleRunError(Exception):
    """The example suite's run did not give what the docs show."""


@functools.cache
def example_output() -> str:
    """pytest's output for the example suite, run in a copy so that the tree stays clean."""
    with tempfile.TemporaryDirectory() as tmp:
        suite = Path(tmp) / "examples"
        shutil.copytree(
            ROOT / "examples",
            suite,
            ignore=shutil.ignore_patterns(".coverage*", ".pytest_cache", "__pycache__"),
        )
        done = subprocess.run(
            [sys.executable, *COMMAND],
            cwd=suite,
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "COLUMNS": "80"},
        )
    if done.returncode != 0:
        raise SampleRunError(
            f"the example suite exited {done.returncode}, not 0:\n{done.stdout[-3000:]}"
            f"{done.stderr[-2000:]}"
        )
    return done.stdout


def _header(lines: list[str]) -> str | None:
    """The seed's line and the gates' lines after it (not the notes)."""
    first = next((i for i, line in enumerate(lines) if line.startswith("atom-gates: seed ")), None)
    if first is None:
        return None
    end = first + 1
    while end < len(lines) and GATE_LINE.match(lines[end]):
        end += 1
    return "\n".join(lines[first:end])


def _parts(output: str) -> tuple[str, list[str], str]:
    """The header's lines, the summary's lines up to the verdict, and the verdict line."""
    lines = output.splitlines()
    header = _header(lines)
    start = next((i for i, line in enumerate(lines) if RULE.fullmatch(line)), None)
    verdict = next(
        (
            i
            for i, line in enumerate(lines)
            if line.startswith("atom-gates: ") and f"(seed {SEED})" in line
        ),
        None,
    )
    if header is None or start is None or verdict is None or verdict < start:
        raise SampleRunError(f"the example suite's output has no gates' summary:\n{output[-3000:]}")
    return header, lines[start:verdict], lines[verdict]


def full_sample(output: str) -> str:
    """What docs/index.md shows: the header, then the whole summary."""
    header, summary, verdict = _parts(output)
    return "\n".join([header, "...", *summary, verdict])


def short_sample(output: str) -> str:
    """What README.md shows: the header, the gate table and the tolerated failures."""
    header, summary, verdict = _parts(output)
    end = next((i for i, line in enumerate(summary) if line.startswith("coverage (TQ-05)")), None)
    kept = summary[:end] if end is not None else summary
    while kept and not kept[-1]:
        kept.pop()
    return "\n".join([header, "...", *kept, verdict])


def _without_durations(sample: str) -> str:
    """The sample with its durations (and the column widths they set) taken out."""
    return re.sub(r" +", " ", re.sub(r"\b\d+(?:\.\d+)? s\b", "_ s", sample))


def readme_sample(readme: str) -> str:
    match = README_SAMPLE.search(readme)
    if match is None:
        raise SampleRunError("README.md has no '## What a run shows' sample")
    return match.group(2)


def render(markdown: str, output: str) -> str:
    return markdown.replace(PLACEHOLDER, "```text\n" + full_sample(output) + "\n```")


def on_pre_build(**_: Any) -> None:
    """Fails the build when README.md's sample is not what the example suite gives."""
    from mkdocs.exceptions import PluginError

    try:
        shown = readme_sample(README.read_text(encoding="utf-8"))
        real = short_sample(example_output())
    except SampleRunError as error:
        raise PluginError(str(error)) from None
    if _without_durations(shown) != _without_durations(real):
        raise PluginError(
            "README.md's sample run is not what the example suite gives; rewrite it with "
            "`python docs/hooks/example_run.py`.\n"
            f"README.md shows:\n{shown}\nThe run gives:\n{real}"
        )


def on_page_markdown(markdown: str, **_: Any) -> str:
    if PLACEHOLDER not in markdown:
        return markdown
    from mkdocs.exceptions import PluginError

    try:
        return render(markdown, example_output())
    except SampleRunError as error:
        raise PluginError(str(error)) from None


if __name__ == "__main__":
    text = README.read_text(encoding="utf-8")
    sample = short_sample(example_output())
    README.write_text(
        README_SAMPLE.sub(lambda m: m.group(1) + sample + m.group(3), text, count=1),
        encoding="utf-8",
    )
    print(f"README.md's sample rewritten from a run of examples/ (seed {SEED})")
