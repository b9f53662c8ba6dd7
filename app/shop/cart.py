"""Products, line items and the shopping cart."""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def to_money(value):
    """Convert ``value`` to a Decimal rounded half-up to whole cents."""
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Product:
    """A sellable product identified by its SKU."""

    sku: str
    name: str
    unit_price: Decimal

    def __post_init__(self):
        price = to_money(self.unit_price)
        if price < 0:
            raise ValueError(f"{self.sku}: price cannot be negative")
        object.__setattr__(self, "unit_price", price)


@dataclass
class LineItem:
    """A product and the quantity of it in the cart."""

    product: Product
    quantity: int

    @property
    def subtotal(self):
        """Unit price times quantity."""
        return to_money(self.product.unit_price * self.quantity)


class Cart:
    """A shopping cart with an optional discount and a flat tax rate."""

    def __init__(self, tax_rate="0"):
        self.items = {}
        self.tax_rate = Decimal(str(tax_rate))
        self.discount = None

    def add(self, product, quantity=1):
        """Add ``quantity`` of ``product``, merging with an existing line."""
        if quantity <= 0:
            raise ValueError("quantity must be positive")
        line = self.items.get(product.sku)
        if line is None:
            self.items[product.sku] = LineItem(product, quantity)
        else:
            line.quantity += quantity

    def remove(self, sku, quantity=None):
        """Remove ``quantity`` units of ``sku`` (all of them if ``None``)."""
        line = self.items[sku]
        if quantity is None or quantity >= line.quantity:
            del self.items[sku]
        else:
            line.quantity -= quantity

    def item_count(self):
        """Total number of units in the cart."""
        return sum(line.quantity for line in self.items.values())

    def subtotal(self):
        """Sum of all line subtotals before discount and tax."""
        return to_money(sum((line.subtotal for line in self.items.values()), Decimal(0)))

    def discount_amount(self):
        """Discount granted by the cart's discount (never more than the subtotal)."""
        if self.discount is None:
            return to_money(0)
        return min(self.subtotal(), self.discount.amount(self))

    def tax(self):
        """Tax on the discounted subtotal."""
        return to_money((self.subtotal() - self.discount_amount()) * self.tax_rate)

    def total(self):
        """Amount the customer pays."""
        return self.subtotal() - self.discount_amount() + self.tax()
