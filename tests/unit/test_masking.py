"""Secrets in what lancedb (or any library) echoes back are hidden before they are shown."""

from __future__ import annotations

from pytest_atom_gates.lancedb.settings import (
    Kind,
    LanceDBSettings,
    Location,
    Switch,
    show_storage_option,
    show_uri,
)


def _settings(**options: str) -> LanceDBSettings:
    return LanceDBSettings(
        Switch.AUTO,
        "ATOM_DISABLE_LANCEDB unset",
        Location(Kind.OBJECT_STORE, "s3://b/p"),
        options,
        True,
    )


def test_an_echoed_storage_option_value_is_hidden() -> None:
    settings = _settings(
        aws_secret_access_key="wJalrXUtnFEMI", aws_access_key_id="AKIAEXAMPLE", region="eu-west-1"
    )
    echo = OSError(
        "Generic S3 error: access denied for AKIAEXAMPLE (signature of wJalrXUtnFEMI) in eu-west-1"
    )
    assert settings.cause(echo) == (
        "OSError: Generic S3 error: access denied for *** (signature of ***) in eu-west-1"
    )


def test_the_longest_secret_is_hidden_first_and_tiny_values_are_left() -> None:
    settings = _settings(aws_session_token="abcdef", aws_secret_access_key="abcdefgh", x="ab")
    assert settings.hide_secrets("abcdefgh abcdef ab") == "*** *** ab"


def test_shown_options_and_uris() -> None:
    assert show_storage_option("aws_secret_access_key=s3cr3t") == "aws_secret_access_key=***"
    assert show_storage_option("region=eu") == "region=eu"
    assert show_storage_option("aws_endpoint=http://u:p@h:9000") == "aws_endpoint=http://***@h:9000"
    assert show_storage_option("no-equals-sign") == "***"
    assert show_uri("s3://u:p@bucket/x?token=t") == "s3://***@bucket/x?***"
    assert show_uri("plain/path") == "plain/path"
