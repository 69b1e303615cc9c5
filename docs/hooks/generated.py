"""MkDocs hook: the parts of the docs that the code defines are rendered from the code.

A page asks for them with a comment on a line of its own:

- ``<!-- atom-gates: options MODULE -->`` becomes the reference of every setting in
  ``MODULE.OPTIONS`` (a tuple of ``OptionSpec``): flag, ini key, default, accepted values.
- ``<!-- atom-gates: report-schema -->`` becomes the field tables of the JSON report's shipped
  schema, followed by the schema itself.

Beside each placeholder, a line ``On GitHub the next block is a placeholder: ...`` points readers
of the raw file to the site; the site leaves that line out.

``tests/test_docs.py`` renders the pages the same way and checks them against pytest's own list
of options, so an option cannot be added, renamed or dropped without the docs following.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

PLACEHOLDER = re.compile(r"^<!-- atom-gates: (options|report-schema)(?: ([\w.]+))? -->$", re.M)
DOCS = Path(__file__).resolve().parents[1]
SITE_POINTER = re.compile(r"^On GitHub the next block is a placeholder: .*\n\n", re.M)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _code(text: str) -> str:
    return f"`{text}`"


def _usage(spec: Any) -> str:
    if spec.flag:
        return spec.option
    return f"{spec.option}={spec.metavar}"


def _ini(spec: Any) -> str:
    """The ini key and the shape of its value; an action has none."""
    if spec.cli_only:
        return "none: command line only"
    if spec.flag:
        shape = "true or false"
    elif spec.ini_type == "linelist":
        shape = f"one {spec.metavar} per line"
    elif spec.ini_type == "args":
        shape = f"{spec.metavar} values separated by spaces, or a TOML list"
    else:
        shape = spec.metavar
    former = getattr(spec, "former_ini", None)
    if former:
        shape += f"; its former name {_code(former)} is read with a warning until 0.2.0"
    return f"{_code(spec.ini)} ({shape})"


def _default(spec: Any) -> str:
    return _code(spec.default) if spec.default is not None else "unset"


def render_options(module: str) -> str:
    """The settings of ``module.OPTIONS``: a summary table, then one section per setting."""
    specs: Sequence[Any] = importlib.import_module(module).OPTIONS
    lines = ["| option | ini key | default |", "| --- | --- | --- |"]
    for spec in specs:
        ini = "none" if spec.cli_only else _code(spec.ini)
        link = f"[{_code(spec.option)}](#{spec.option.lstrip('-')})"
        lines.append(f"| {link} | {ini} | {_default(spec)} |")
    for spec in specs:
        lines += ["", f"### `{spec.option}` {{ #{spec.option.lstrip('-')} }}", "", spec.help, ""]
        repeat = ", repeatable" if spec.repeatable else ""
        lines.append(f"- command line: {_code(_usage(spec))}{repeat}")
        lines.append(f"- ini key: {_ini(spec)}")
        lines.append(f"- default: {_default(spec)}")
        lines.append(f"- accepts: {spec.accepted}")
    return "\n".join(lines)


def _type(schema: Mapping[str, Any]) -> str:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#schema-{name})"
    if "const" in schema:
        return _code(json.dumps(schema["const"]))
    if "enum" in schema:
        return " or ".join(_code(json.dumps(value)) for value in schema["enum"])
    kind = schema.get("type", "string" if "pattern" in schema else "any")
    if kind == "array":
        return f"array of {_type(schema.get('items', {}))}"
    if kind == "object" and "additionalProperties" in schema:
        values = schema["additionalProperties"]
        return f"object of {_type(values) if isinstance(values, Mapping) else 'any'}"
    if isinstance(kind, list):
        return " or ".join(kind)
    return str(kind)


def _notes(schema: Mapping[str, Any]) -> str:
    notes = [schema["description"]] if "description" in schema else []
    for key, word in (("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<=")):
        if key in schema:
            notes.append(f"{word} {schema[key]}")
    if "pattern" in schema:
        notes.append(f"matches {_code(schema['pattern'])}")
    if "propertyNames" in schema:
        notes.append(f"keys match {_code(schema['propertyNames']['pattern'])}")
    if "required" in schema and "properties" not in schema:
        notes.append("keys: " + ", ".join(_code(key) for key in schema["required"]))
    return _cell("; ".join(notes))


def _object_table(schema: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Rows for an object's fields; nested objects with named fields are flattened with dots."""
    required = set(schema.get("required", ()))
    rows = []
    for name, field in schema.get("properties", {}).items():
        path = f"{prefix}{name}"
        items = field.get("items", {})
        if field.get("properties"):
            kind, nested, below = "object", field, f"{path}."
        elif items.get("properties"):
            kind, nested, below = "array of object", items, f"{path}[]."
        else:
            kind, nested, below = _type(field), None, ""
        mark = "yes" if name in required else "no"
        rows.append(f"| {_code(path)} | {kind} | {mark} | {_notes(field)} |")
        if nested is not None:
            rows += _object_table(nested, below)
    return rows


def _table(schema: Mapping[str, Any]) -> list[str]:
    head = ["| field | type | required | notes |", "| --- | --- | --- | --- |"]
    return head + _object_table(schema)


def render_report_schema() -> str:
    """The shipped JSON Schema as tables, top level first, then each definition."""
    from pytest_atom_gates.reporting.json_report import schema

    document = schema()
    lines = ["### The report { #schema-report }", "", document["description"], ""]
    lines += _table(document)
    for name, definition in document.get("$defs", {}).items():
        lines += ["", f"### `{name}` {{ #schema-{name} }}", ""]
        if definition.get("properties"):
            lines += _table(definition)
        else:
            lines.append(f"One of: {_type(definition)}.")
    lines += [
        "",
        '??? note "report.schema.json, as shipped in the package"',
        "",
        "    ```json",
        *(f"    {line}" for line in json.dumps(document, indent=2).splitlines()),
        "    ```",
    ]
    return "\n".join(lines)


def render(markdown: str) -> str:
    """The page with every placeholder replaced by what it asks for."""

    def replace(match: re.Match[str]) -> str:
        if match.group(1) == "options":
            return render_options(match.group(2) or "pytest_atom_gates.settings")
        return render_report_schema()

    return PLACEHOLDER.sub(replace, SITE_POINTER.sub("", markdown))


def on_page_markdown(markdown: str, **_: Any) -> str:
    """MkDocs calls this with each page's Markdown before rendering it."""
    return render(markdown)
