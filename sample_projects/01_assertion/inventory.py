"""A tiny warehouse inventory tracker.

Stock levels are kept per SKU.  Quantities passed to the public methods are
validated with ``assert`` preconditions so that programming errors surface
immediately during development.
"""


class OutOfStockError(Exception):
    """Raised when more units are requested than are available."""


class Inventory:
    """Track on-hand quantities for a set of SKUs."""

    def __init__(self):
        self._stock = {}

    def add_stock(self, sku, quantity):
        """Receive ``quantity`` units of ``sku`` into the warehouse."""
        assert quantity > 0, "quantity must be a positive number of units"
        self._stock[sku] = self._stock.get(sku, 0) + quantity
        return self._stock[sku]

    def remove_stock(self, sku, quantity):
        """Ship ``quantity`` units of ``sku``; raise if not enough are on hand."""
        available = self._stock.get(sku, 0)
        if quantity > available:
            raise OutOfStockError(
                f"cannot ship {quantity} x {sku}: only {available} on hand"
            )
        self._stock[sku] = available - quantity
        return self._stock[sku]

    def quantity(self, sku):
        """Return the number of units of ``sku`` currently on hand."""
        return self._stock.get(sku, 0)

    def low_stock(self, threshold=5):
        """Return the SKUs whose quantity is strictly below ``threshold``, sorted."""
        return sorted(sku for sku, qty in self._stock.items() if qty < threshold)

    def total_units(self):
        """Return the total number of units across all SKUs."""
        return sum(self._stock.values())
