"""LanceDB settings: the on/off switch, where the test databases live, and storage options.

Read in ``pytest_configure`` on every process without importing lancedb, so a bad value is a usage
error before any test runs. Storage options often carry credentials: they are never shown, only
their keys and the values of a few known harmless keys (endpoint, region, ...).
"""

from __future__ import annotations

import enum
import importlib.util
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

import pytest

from pytest_atom_gates.settings import (
    OptionSpec,
    _Invalid,
    _parse,
    _read,
    parse_bool,
    path_base,
    read_all,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

DISABLE_ENV = "ATOM_DISABLE_LANCEDB"
URI_ENV = "LANCEDB_URI"
MARKER = "lancedb"
INSTALL_HINT = "pip install 'pytest-atom-gates[lancedb]'"
MISSING_REASON = f"lancedb is not installed: {INSTALL_HINT}"
DEFAULT_URI = "memory://"
TMP_PATH = "tmp_path"
OBJECT_STORE_SCHEMES = ("s3", "gs", "az")
HIDDEN = "***"

ACCEPTED_URIS = (
    "memory:// (the default), tmp_path (a directory under each test's tmp_path), a local "
    "directory (a path or a file:// URI), or an object store prefix: "
    + ", ".join(f"{scheme}://BUCKET/PREFIX" for scheme in OBJECT_STORE_SCHEMES)
)
ACCEPTED_SWITCH = (
    "true, 1, yes or on to skip the LanceDB tests; false, 0, no or off to require lancedb; "
    "unset to run them when lancedb is installed (case-insensitive)"
)

# Storage option values of these keys (with or without a provider prefix) hold no secret, and
# seeing them helps when a location cannot be reached. Every other value is hidden.
_HARMLESS_KEYS = frozenset(
    {
        "region",
        "endpoint",
        "endpoint_url",
        "allow_http",
        "allow_invalid_certificates",
        "virtual_hosted_style_request",
        "timeout",
        "connect_timeout",
        "account_name",
    }
)
_PROVIDER_PREFIX = re.compile(r"^(aws|google|azure_storage|azure)_")
_KEY = re.compile(r"[A-Za-z0-9_.-]+")


class Switch(enum.Enum):
    """What ``ATOM_DISABLE_LANCEDB`` asks for."""

    AUTO = "auto"
    """Unset: run the LanceDB tests when lancedb is installed, else skip them with a reason."""
    DISABLED = "disabled"
    """Skip the LanceDB tests; lancedb is never imported."""
    REQUIRED = "required"
    """lancedb must be installed and usable; anything else is an error."""


class Kind(enum.Enum):
    MEMORY = "memory"
    TMP_PATH = "tmp_path"
    DIRECTORY = "directory"
    OBJECT_STORE = "object store"


@dataclass(frozen=True)
class Location:
    """Where test databases are made; every test gets its own place below it."""

    kind: Kind
    uri: str
    """``memory://``, ``tmp_path``, a directory path, or an object store URI without a final /."""

    def join(self, *parts: str) -> str:
        """The URI of a place below this location."""
        if self.kind is Kind.DIRECTORY:
            return os.path.join(self.uri, *parts)
        return "/".join((self.uri, *parts))

    def anchored(self, base: Path) -> Location:
        """This location with a relative directory made absolute against ``base``."""
        if self.kind is not Kind.DIRECTORY:
            return self
        return Location(Kind.DIRECTORY, str((base / Path(self.uri).expanduser()).absolute()))


def _split(text: str) -> tuple[str, str, str, str, str]:
    scheme, netloc, path, query, fragment = urlsplit(text)
    # A Windows drive letter parses as a one-letter scheme.
    if len(scheme) == 1:
        return "", "", text, "", ""
    return scheme.lower(), netloc, path, query, fragment


def parse_uri(text: str) -> Location:
    """Check a URI from the settings or the ``lancedb_uri`` fixture; raises ``_Invalid``."""
    raw = text.strip()
    if not raw:
        raise _Invalid("empty")
    if raw == TMP_PATH:
        return Location(Kind.TMP_PATH, TMP_PATH)
    scheme, netloc, path, query, fragment = _split(raw)
    if not scheme:
        return Location(Kind.DIRECTORY, raw)
    if scheme == "memory":
        if netloc or path.strip("/") or query or fragment:
            raise _Invalid("memory:// takes no name or path: every test gets its own database")
        return Location(Kind.MEMORY, DEFAULT_URI)
    if scheme == "file":
        if netloc not in ("", "localhost") or not path.startswith("/"):
            raise _Invalid("a file:// URI needs an absolute path, as in file:///srv/lancedb")
        if query or fragment:  # else dropped: a token in it would be lost without a word
            raise _Invalid("a file:// URI takes no query or fragment: it names a directory")
        # Imported here: urllib.request pulls in the http and email packages.
        from urllib.request import url2pathname

        return Location(Kind.DIRECTORY, url2pathname(unquote(path)))
    if scheme == "db":
        raise _Invalid(
            "LanceDB Cloud (db://) is not supported: the fixtures make and remove a database "
            "for each test, which needs a directory or an object store prefix"
        )
    if scheme not in OBJECT_STORE_SCHEMES:
        raise _Invalid(f"unsupported scheme '{scheme}://'")
    if "@" in netloc:
        raise _Invalid("credentials belong in the storage options, not in the URI")
    if query or fragment:
        raise _Invalid("options belong in the storage options, not in the URI")
    if not netloc:
        raise _Invalid(f"{scheme}:// needs a bucket, as in {scheme}://bucket/prefix")
    return Location(Kind.OBJECT_STORE, f"{scheme}://{netloc}{path.rstrip('/')}")


def show_uri(text: str) -> str:
    """``text`` with any user name, password or query (which may hold a token) hidden."""
    scheme, netloc, path, query, _ = _split(text.strip())
    if not scheme:
        return text
    if "@" in netloc:
        netloc = f"{HIDDEN}@{netloc.rpartition('@')[2]}"
    return f"{scheme}://{netloc}{path}" + (f"?{HIDDEN}" if query else "")


def _harmless(key: str) -> bool:
    return _PROVIDER_PREFIX.sub("", key.lower()) in _HARMLESS_KEYS


def parse_storage_option(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep:
        raise _Invalid("no '=' between key and value")
    if not _KEY.fullmatch(key):
        raise _Invalid("a key is made of letters, digits, '_', '.' and '-'")
    return key, value.strip()


def show_storage_option(text: str) -> str:
    key, sep, value = text.partition("=")
    if not sep:
        return HIDDEN
    return f"{key.strip()}={show_uri(value.strip()) if _harmless(key.strip()) else HIDDEN}"


URI_SPEC = OptionSpec(
    "lancedb-uri",
    "URI",
    "LanceDB fixtures: where test databases are made; each test gets its own prefix below it.",
    ACCEPTED_URIS,
    default=DEFAULT_URI,
    env=URI_ENV,
    parse=parse_uri,
    show=show_uri,
)
STORAGE_OPTIONS_SPEC = OptionSpec(
    "lancedb-storage-option",
    "KEY=VALUE",
    "LanceDB fixtures: a storage option for an object store location (repeatable).",
    "KEY=VALUE pairs, one per line in the ini file, such as aws_endpoint=http://127.0.0.1:9000",
    repeatable=True,
    former_ini="atom_gates_lancedb_storage_options",
    ini_type="linelist",
    parse=parse_storage_option,
    show=show_storage_option,
)
OPTIONS = (URI_SPEC, STORAGE_OPTIONS_SPEC)


@dataclass(frozen=True)
class LanceDBSettings:
    """The validated LanceDB settings of one process."""

    switch: Switch
    switch_text: str
    """``ATOM_DISABLE_LANCEDB=<value as given>``, for skip reasons and the header."""
    location: Location
    storage_options: Mapping[str, str] = field(repr=False)
    configured: bool
    """Whether anything differs from the defaults, which is worth a header line."""

    @property
    def disabled_reason(self) -> str:
        return f"LanceDB tests are disabled by {self.switch_text}"

    def options_for(self, location: Location) -> dict[str, str]:
        """The storage options to connect to ``location`` with: only object stores take them."""
        return dict(self.storage_options) if location.kind is Kind.OBJECT_STORE else {}

    def shown_options(self) -> str:
        return ", ".join(
            show_storage_option(f"{key}={value}") for key, value in self.storage_options.items()
        )

    def hide_secrets(self, text: str) -> str:
        """``text`` (an error message, say) with every secret storage option value hidden."""
        secrets = (
            value
            for key, value in self.storage_options.items()
            if not _harmless(key) and len(value) >= 3
        )
        for secret in sorted(secrets, key=len, reverse=True):
            text = text.replace(secret, HIDDEN)
        return text

    def cause(self, exc: BaseException) -> str:
        """What went wrong, to show: the exception's type and message, secrets hidden."""
        return self.hide_secrets(f"{type(exc).__name__}: {exc}")


def lancedb_installed() -> bool:
    """Whether ``import lancedb`` can find the package, without importing it."""
    try:
        spec = importlib.util.find_spec("lancedb")
    except (ImportError, ValueError):
        return False
    # A directory named lancedb on sys.path (test data, say) is a namespace package, not lancedb.
    return spec is not None and spec.origin is not None


def read_switch() -> tuple[Switch, str]:
    raw = os.environ.get(DISABLE_ENV, "")
    if not raw.strip():
        return Switch.AUTO, f"{DISABLE_ENV} unset"
    try:
        disabled = parse_bool(raw)
    except _Invalid:
        raise pytest.UsageError(
            f"environment variable {DISABLE_ENV}: invalid value {raw!r} (not a boolean). "
            f"Accepted: {ACCEPTED_SWITCH}."
        ) from None
    return (Switch.DISABLED if disabled else Switch.REQUIRED), f"{DISABLE_ENV}={raw.strip()}"


def load_settings(config: pytest.Config) -> LanceDBSettings:
    """Read and check every LanceDB setting; raises ``pytest.UsageError`` on the first bad one."""
    switch, switch_text = read_switch()
    if switch is Switch.REQUIRED and not lancedb_installed():
        raise pytest.UsageError(
            f"{switch_text} requires lancedb, but it is not installed: {INSTALL_HINT}"
        )
    raw_uri, uri_source = _read(config, URI_SPEC)[-1]
    location = _parse(URI_SPEC, raw_uri, uri_source)
    location = location.anchored(path_base(config, URI_SPEC, uri_source))
    storage_options = dict(read_all(config, STORAGE_OPTIONS_SPEC))
    return LanceDBSettings(
        switch=switch,
        switch_text=switch_text,
        location=location,
        storage_options=storage_options,
        configured=switch is not Switch.AUTO or uri_source != "default" or bool(storage_options),
    )
