"""Request validation that reports every problem at once."""

from __future__ import annotations

from typing import Any


class ValidationError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def require(body: dict[str, Any], schema: dict[str, type]) -> dict[str, Any]:
    problems = []
    for name, kind in schema.items():
        if name not in body:
            problems.append(f"{name}: missing")
        elif not isinstance(body[name], kind) or (isinstance(body[name], bool) and kind is int):
            problems.append(f"{name}: expected {kind.__name__}")
    unknown = sorted(set(body) - set(schema))
    problems += [f"{name}: unknown field" for name in unknown]
    if problems:
        raise ValidationError(problems)
    return body
