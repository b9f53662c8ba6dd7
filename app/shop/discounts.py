"""Discount rules that can be attached to a :class:`shop.cart.Cart`.

Every rule exposes ``amount(cart)`` returning a non-negative Decimal.
"""

from decimal import Decimal

from shop.cart import to_money


class PercentOff:
    """A percentage off the whole cart, optionally above a minimum spend."""

    def __init__(self, percent, minimum_spend="0"):
        if not 0 < percent <= 100:
            raise ValueError("percent must be in (0, 100]")
        self.percent = Decimal(str(percent))
        self.minimum_spend = to_money(minimum_spend)

    def amount(self, cart):
        subtotal = cart.subtotal()
        if subtotal < self.minimum_spend:
            return to_money(0)
        return to_money(subtotal * self.percent / 100)


class FixedAmountOff:
    """A fixed amount off, e.g. a voucher worth 10.00."""

    def __init__(self, value):
        self.value = to_money(value)

    def amount(self, cart):
        return min(self.value, cart.subtotal())


class BulkDiscount:
    """Buy at least ``min_quantity`` of ``sku`` and get ``percent`` off that line."""

    def __init__(self, sku, min_quantity, percent):
        self.sku = sku
        self.min_quantity = min_quantity
        self.percent = Decimal(str(percent))

    def amount(self, cart):
        line = cart.items.get(self.sku)
        if line is None or line.quantity < self.min_quantity:
            return to_money(0)
        return to_money(line.subtotal * self.percent / 100)


def apply_best(cart, rules):
    """Attach the rule that saves the customer the most; return it (or None)."""
    best, best_amount = None, to_money(0)
    for rule in rules:
        amount = rule.amount(cart)
        if amount > best_amount:
            best, best_amount = rule, amount
    cart.discount = best
    return best
