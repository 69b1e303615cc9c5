"""TQ-06's pure parts: which lines a diff changed, and how uncovered lines are named."""

from __future__ import annotations

import pytest

from pytest_atom_gates.changes import parse_diff
from pytest_atom_gates.cov.patch import PatchFacts, PatchFile, ranges, uncovered_places

DIFF = b"""\
diff --git a/pkg/a.py b/pkg/a.py
index 1111111..2222222 100644
--- a/pkg/a.py
+++ b/pkg/a.py
@@ -3,0 +4,2 @@ def f():
+    x = 1
+    y = 2
@@ -10 +12 @@ def g():
-    return 0
+    return 1
@@ -20,3 +22,0 @@ def h():
-    a
-    b
-    c
diff --git a/old.py b/new.py
similarity index 90%
rename from old.py
rename to new.py
--- a/old.py
+++ b/new.py
@@ -1 +1 @@
-# old
+# new
diff --git a/gone.py b/gone.py
deleted file mode 100644
--- a/gone.py
+++ /dev/null
@@ -1,2 +0,0 @@
-a
-b
diff --git a/moved.py b/moved/here.py
similarity index 100%
rename from moved.py
rename to moved/here.py
"""


def test_a_diff_gives_each_new_files_added_and_modified_lines() -> None:
    assert parse_diff(DIFF) == {"pkg/a.py": {4, 5, 12}, "new.py": {1}}


@pytest.mark.parametrize(
    ("lines", "shown"),
    [([], []), ([7], ["7"]), ([3, 4, 5, 9], ["3-5", "9"]), ([9, 1, 2], ["1-2", "9"])],
)
def test_lines_are_shown_as_ranges(lines: list[int], shown: list[str]) -> None:
    assert ranges(lines) == shown


def test_uncovered_places_go_file_by_file_and_the_facts_survive_the_report() -> None:
    facts = PatchFacts(
        "main",
        "abc",
        [
            PatchFile("pkg/b.py", (1, 2, 3), (2, 3)),
            PatchFile("pkg/a.py", (5, 6, 9), (5, 9), 2, ((5, 6),)),
        ],
        [PatchFile("pkg/new.py", (1, 2), (1, 2))],
        4,
    )
    assert uncovered_places(facts) == ["pkg/a.py:5", "pkg/a.py:9", "pkg/b.py:2-3"]
    assert (facts.lines, facts.missing, facts.branches, facts.missing_branches) == (6, 4, 2, 1)
    assert PatchFacts.from_dict(facts.to_dict()) == facts


def test_names_with_spaces_or_quotes_are_read_as_git_writes_them() -> None:
    """git ends a name holding a space with a tab, and quotes one holding odd characters."""
    diff = (
        b"diff --git a/pkg/my mod.py b/pkg/my mod.py\n--- a/pkg/my mod.py\t\n"
        b"+++ b/pkg/my mod.py\t\n@@ -1,0 +2,2 @@\n+x\n+y\n"
        b'diff --git "a/caf\\303\\251 \\"q\\".py" "b/caf\\303\\251 \\"q\\".py"\n'
        b'--- "a/caf\\303\\251 \\"q\\".py"\n+++ "b/caf\\303\\251 \\"q\\".py"\n@@ -3 +3 @@\n-a\n+b\n'
    )
    assert parse_diff(diff) == {"pkg/my mod.py": {2, 3}, 'café "q".py': {3}}
