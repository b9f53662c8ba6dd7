from decimal import Decimal

import pytest

from shop import Cart, Product

APPLE = Product("APL", "Apple", "0.40")
BREAD = Product("BRD", "Sourdough loaf", "3.95")


def test_product_price_is_rounded_to_cents():
    assert Product("X", "Thing", "1.005").unit_price == Decimal("1.01")


def test_negative_price_rejected():
    with pytest.raises(ValueError):
        Product("X", "Thing", "-1")


def test_add_merges_lines_for_same_sku():
    cart = Cart()
    cart.add(APPLE, 3)
    cart.add(APPLE, 2)
    assert len(cart.items) == 1
    assert cart.item_count() == 5


def test_add_rejects_non_positive_quantity():
    with pytest.raises(ValueError):
        Cart().add(APPLE, 0)


def test_remove_partial_and_all():
    cart = Cart()
    cart.add(APPLE, 5)
    cart.remove("APL", 2)
    assert cart.item_count() == 3
    cart.remove("APL")
    assert cart.items == {}


def test_subtotal_sums_lines():
    cart = Cart()
    cart.add(APPLE, 3)
    cart.add(BREAD)
    assert cart.subtotal() == Decimal("5.15")


def test_total_includes_tax():
    cart = Cart(tax_rate="0.20")
    cart.add(BREAD, 2)
    assert cart.tax() == Decimal("1.58")
    assert cart.total() == Decimal("9.48")


def test_empty_cart_totals_zero():
    cart = Cart(tax_rate="0.2")
    assert cart.subtotal() == Decimal("0.00")
    assert cart.total() == Decimal("0.00")
