import pytest
from api.app import App

# The suite's own gates, beside TQ-01..05 (suite_gates.py).
from suite_gates import pytest_atom_gates_add_gates  # noqa: F401


@pytest.fixture
def app() -> App:
    """A fresh API with some stock, per test."""
    shop = App()
    shop.handle("POST", "/stock", {"sku": "apple", "quantity": 10})
    shop.handle("POST", "/stock", {"sku": "pear", "quantity": 2})
    return shop
