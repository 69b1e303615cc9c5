"""Product search against a real LanceDB database per test, from the LanceDB fixtures.

Without lancedb installed these tests are skipped with the reason; the first one needs no
database and always runs.
"""

import pytest
from api.search import DIMENSIONS, Product, ProductSearch, embed

PRODUCTS = [
    Product("apple", "Apple", 50),
    Product("pineapple", "Pineapple", 250),
    Product("pear", "Pear", 60),
    Product("plum", "Plum", 40),
    Product("grape", "Grapes", 300),
]


def test_embed_gives_unit_vectors():
    vector = embed("Apple")
    assert len(vector) == DIMENSIONS
    assert sum(value * value for value in vector) == pytest.approx(1.0)


def test_a_misspelling_finds_the_product(lancedb_db):
    search = ProductSearch.build(lancedb_db, PRODUCTS)
    assert search.search("aple", limit=1) == ["apple"]


def test_price_limit_leaves_out_dearer_products(lancedb_db):
    search = ProductSearch.build(lancedb_db, PRODUCTS)
    found = search.search("pineapple", max_price_cents=100)
    assert found
    assert "pineapple" not in found


def test_added_products_are_found(lancedb_db):
    search = ProductSearch.build(lancedb_db, PRODUCTS[:2])
    search.add([Product("grape", "Grapes", 300)])
    assert search.search("grapes", limit=1) == ["grape"]


def test_index_built_from_a_catalog_file(lancedb_db, lancedb_table):
    catalog = lancedb_table("catalog", "data/catalog.jsonl")
    search = ProductSearch.from_catalog(lancedb_db, catalog)
    assert search.search("mango", limit=1) == ["mango"]


@pytest.mark.parametrize("lancedb_uri", ["tmp_path"])
def test_index_survives_reopening_on_disk(lancedb_db):
    ProductSearch.build(lancedb_db, PRODUCTS)
    reopened = ProductSearch(lancedb_db.open_table("product_index"))
    assert reopened.search("plum", limit=1) == ["plum"]


WORDS = ["bread", "butter", "cheese", "coffee", "tea"]


@pytest.fixture(scope="session")
def big_catalog(lancedb_worker_db):
    """Two thousand products, indexed once per xdist worker; the tests only read them."""
    products = [Product(f"sku-{n}", f"{word} {n}", n) for n, word in enumerate(WORDS * 400)]
    return ProductSearch.build(lancedb_worker_db, products)


@pytest.mark.parametrize("word", WORDS)
def test_search_in_a_big_catalog(big_catalog, word):
    found = big_catalog.search(word, limit=5, max_price_cents=1000)
    assert len(found) == 5
    assert all(int(sku.removeprefix("sku-")) % len(WORDS) == WORDS.index(word) for sku in found)
