from decimal import Decimal

import pytest

from shop import BulkDiscount, Cart, FixedAmountOff, PercentOff, Product, apply_best

MUG = Product("MUG", "Coffee mug", "8.50")
BEANS = Product("BNS", "Coffee beans 1kg", "21.00")


def make_cart(tax_rate="0"):
    cart = Cart(tax_rate=tax_rate)
    cart.add(MUG, 2)
    cart.add(BEANS, 1)
    return cart  # subtotal 38.00


def test_percent_off_respects_minimum_spend():
    cart = make_cart()
    assert PercentOff(10).amount(cart) == Decimal("3.80")
    assert PercentOff(10, minimum_spend="50").amount(cart) == Decimal("0.00")


def test_percent_off_validates_percent():
    with pytest.raises(ValueError):
        PercentOff(0)


def test_fixed_amount_never_exceeds_subtotal():
    cart = Cart()
    cart.add(MUG)
    assert FixedAmountOff("20").amount(cart) == Decimal("8.50")


def test_bulk_discount_applies_from_min_quantity():
    cart = make_cart()
    assert BulkDiscount("MUG", 3, 50).amount(cart) == Decimal("0.00")
    cart.add(MUG)
    assert BulkDiscount("MUG", 3, 50).amount(cart) == Decimal("12.75")


def test_apply_best_picks_largest_saving_and_tax_follows():
    cart = make_cart(tax_rate="0.10")
    rules = [PercentOff(10), FixedAmountOff("5"), BulkDiscount("MUG", 2, 20)]
    best = apply_best(cart, rules)
    assert isinstance(best, FixedAmountOff)
    assert cart.discount_amount() == Decimal("5.00")
    assert cart.tax() == Decimal("3.30")
    assert cart.total() == Decimal("36.30")


def test_apply_best_with_no_applicable_rule():
    cart = make_cart()
    assert apply_best(cart, [PercentOff(10, minimum_spend="100")]) is None
    assert cart.total() == Decimal("38.00")
