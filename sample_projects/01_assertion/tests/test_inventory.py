import pytest

from inventory import Inventory, OutOfStockError


def test_add_stock_accumulates():
    inv = Inventory()
    inv.add_stock("WIDGET-1", 10)
    assert inv.add_stock("WIDGET-1", 5) == 15
    assert inv.quantity("WIDGET-1") == 15


def test_remove_stock_reduces_quantity():
    inv = Inventory()
    inv.add_stock("BOLT-M6", 40)
    assert inv.remove_stock("BOLT-M6", 15) == 25


def test_remove_more_than_available_raises():
    inv = Inventory()
    inv.add_stock("NUT-M6", 3)
    with pytest.raises(OutOfStockError):
        inv.remove_stock("NUT-M6", 4)


def test_low_stock_report():
    inv = Inventory()
    inv.add_stock("A", 2)
    inv.add_stock("B", 20)
    inv.add_stock("C", 4)
    assert inv.low_stock(threshold=5) == ["A", "C"]


def test_total_units():
    inv = Inventory()
    inv.add_stock("A", 7)
    inv.add_stock("B", 8)
    assert inv.total_units() == 15
