"""The final outcomes a test can have, after reruns: one per node id."""

PASSED = "passed"
FLAKY = "flaky"
FAILED = "failed"
SKIPPED = "skipped"
XFAILED = "xfailed"
XPASSED = "xpassed"
NOT_RUN = "not-run"
