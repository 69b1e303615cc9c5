"""Import stock levels from CSV text, reporting bad rows instead of stopping at the first."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from core.inventory import Inventory


@dataclass
class ImportResult:
    imported: int = 0
    errors: list[str] = field(default_factory=list)


def import_stock(text: str, inventory: Inventory) -> ImportResult:
    result = ImportResult()
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or {"sku", "quantity"} - set(reader.fieldnames):
        result.errors.append("header must name sku and quantity")
        return result
    for number, row in enumerate(reader, start=2):
        sku = (row.get("sku") or "").strip()
        quantity = (row.get("quantity") or "").strip()
        if not sku:
            result.errors.append(f"line {number}: empty sku")
        elif not quantity.isdigit() or int(quantity) == 0:
            result.errors.append(f"line {number}: bad quantity {quantity!r}")
        else:
            inventory.receive(sku, int(quantity))
            result.imported += 1
    return result


def format_table(rows: list[tuple[str, int]]) -> str:
    """A two-column text table, widest value sets the width."""
    if not rows:
        return "(empty)"
    width = max(len(sku) for sku, _ in rows)
    return "\n".join(f"{sku.ljust(width)}  {quantity:>6}" for sku, quantity in rows)
