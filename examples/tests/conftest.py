import pytest
from api.app import App


@pytest.fixture
def app() -> App:
    """A fresh API with some stock, per test."""
    shop = App()
    shop.handle("POST", "/stock", {"sku": "apple", "quantity": 10})
    shop.handle("POST", "/stock", {"sku": "pear", "quantity": 2})
    return shop
