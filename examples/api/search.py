"""Product search: find products whose names look like what a customer typed.

The index is a LanceDB table of products with a vector per name. The vectors come from a toy
embedding (hashed letter trigrams) so the example needs no model; a real shop would call one in
``embed``. This module never imports lancedb: it works on the connection and tables it is given.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

DIMENSIONS = 16
INDEX_TABLE = "product_index"


def embed(text: str) -> list[float]:
    """A unit vector from the letter trigrams of ``text``; similar spellings point alike."""
    vector = [0.0] * DIMENSIONS
    padded = f"  {text.strip().lower()} "
    for start in range(len(padded) - 2):
        digest = hashlib.blake2b(padded[start : start + 3].encode(), digest_size=2).digest()
        vector[int.from_bytes(digest, "big") % DIMENSIONS] += 1.0
    norm = math.sqrt(sum(value * value for value in vector))
    return [value / norm for value in vector] if norm else vector


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    price_cents: int

    def row(self) -> dict[str, Any]:
        return {
            "sku": self.sku,
            "name": self.name,
            "price_cents": self.price_cents,
            "vector": embed(self.name),
        }


class ProductSearch:
    """Search over an index table with the columns sku, name, price_cents and vector."""

    def __init__(self, table: Any) -> None:
        self.table = table

    @classmethod
    def build(cls, db: Any, products: list[Product]) -> ProductSearch:
        return cls(db.create_table(INDEX_TABLE, [product.row() for product in products]))

    @classmethod
    def from_catalog(cls, db: Any, catalog: Any) -> ProductSearch:
        """Index every product of a ``catalog`` table (sku, name, price_cents)."""
        return cls.build(db, [Product(**record) for record in catalog.to_arrow().to_pylist()])

    def add(self, products: list[Product]) -> None:
        self.table.add([product.row() for product in products])

    def search(self, text: str, *, limit: int = 3, max_price_cents: int | None = None) -> list[str]:
        """The skus of the products whose names are nearest to ``text``, nearest first."""
        query = self.table.search(embed(text)).distance_type("cosine").limit(limit)
        if max_price_cents is not None:
            query = query.where(f"price_cents <= {int(max_price_cents)}")
        return [row["sku"] for row in query.to_list()]
