"""The LanceDB fixtures on s3://, served by moto's S3 emulator on the loopback address."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

lancedb = pytest.importorskip("lancedb")
boto3 = pytest.importorskip("boto3")
moto_server = pytest.importorskip("moto.server")
pytest.importorskip("xdist")

BUCKET = "lancedb-tests"
KEY_ID = "AKIDEXAMPLE0000"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"
REGION = "us-east-1"

SUITE = """
import os

import boto3
import pytest


def objects_below(uri):
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    s3 = boto3.client(
        "s3",
        endpoint_url=os.environ["S3_ENDPOINT"],
        aws_access_key_id="x",
        aws_secret_access_key="x",
        region_name="us-east-1",
    )
    return s3.list_objects_v2(Bucket=bucket, Prefix=prefix + "/").get("KeyCount", 0)


@pytest.mark.parametrize("rows", range(1, 9))
def test_same_names_in_one_bucket(lancedb_db, lancedb_table, rows):
    assert lancedb_db.uri.startswith("s3://lancedb-tests/ci/atom-gates-")
    assert lancedb_db.list_tables().tables == []
    items = lancedb_table("items", [{"id": i, "test": rows} for i in range(rows)])
    assert items.count_rows() == rows
    assert set(items.to_arrow().column("test").to_pylist()) == {rows}
    assert objects_below(lancedb_db.uri) > 0
"""


@pytest.fixture
def s3_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh S3 emulator on 127.0.0.1 with a free port, and its bucket."""
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client(endpoint).create_bucket(Bucket=BUCKET)
    monkeypatch.setenv("S3_ENDPOINT", endpoint)
    yield endpoint
    server.stop()


def client(endpoint: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
        region_name=REGION,
    )


def configure(pytester: pytest.Pytester, endpoint: str, uri: str) -> None:
    pytester.makeini(
        "[pytest]\n"
        f"atom_gates_lancedb_uri = {uri}\n"
        "atom_gates_lancedb_storage_option =\n"
        f"    aws_endpoint={endpoint}\n"
        "    allow_http=true\n"
        f"    aws_region={REGION}\n"
        f"    aws_access_key_id={KEY_ID}\n"
        f"    aws_secret_access_key={SECRET}\n"
    )


def everything_written(pytester: pytest.Pytester, result: pytest.RunResult) -> str:
    reports = (path.read_text(encoding="utf-8") for path in pytester.path.glob("report.*"))
    return "\n".join([result.stdout.str(), result.stderr.str(), *reports])


def test_s3_location_isolates_tests_and_leaves_the_bucket_empty(
    pytester: pytest.Pytester, s3_endpoint: str
) -> None:
    configure(pytester, s3_endpoint, f"s3://{BUCKET}/ci")
    pytester.makepyfile(test_s3=SUITE)
    result = pytester.runpytest_subprocess(
        "-n", "2", "--atom-gates", "--atom-gates-report=report.json", "--junitxml=report.xml"
    )
    result.assert_outcomes(passed=8)
    result.stdout.fnmatch_lines(
        [
            f"lancedb: test databases in s3://{BUCKET}/ci (storage options: "
            f"aws_endpoint={s3_endpoint}, allow_http=true, aws_region={REGION}, "
            "aws_access_key_id=***, aws_secret_access_key=***)"
        ]
    )
    written = everything_written(pytester, result)
    assert SECRET not in written
    assert KEY_ID not in written
    assert client(s3_endpoint).list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0


def test_an_unreachable_bucket_fails_the_health_check_without_showing_secrets(
    pytester: pytest.Pytester, s3_endpoint: str
) -> None:
    configure(pytester, s3_endpoint, "s3://no-such-bucket/ci")
    pytester.makepyfile(
        """
        def test_one(lancedb_db):
            pass

        def test_two(lancedb_db):
            pass

        def test_plain():
            pass
        """
    )
    result = pytester.runpytest_subprocess("--junitxml=report.xml")
    result.assert_outcomes(passed=1, errors=2)
    result.stdout.fnmatch_lines(
        ["LanceDB health check failed at s3://no-such-bucket/ci (writing, reading and dropping*"]
    )
    result.stdout.no_fnmatch_line("*Traceback*")
    assert SECRET not in everything_written(pytester, result)
