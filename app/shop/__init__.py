"""shop: a small shopping-cart and order-pricing library.

Money is handled as :class:`decimal.Decimal` and rounded to cents.
"""

from shop.cart import Cart, LineItem, Product
from shop.discounts import BulkDiscount, FixedAmountOff, PercentOff, apply_best

__all__ = [
    "BulkDiscount",
    "Cart",
    "FixedAmountOff",
    "LineItem",
    "PercentOff",
    "Product",
    "apply_best",
]
