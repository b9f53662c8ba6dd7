import pytest

from shipping import Parcel, billable_kilograms, label_text, shipping_cost


def test_billable_kilograms_rounds_up():
    assert billable_kilograms(1) == 1
    assert billable_kilograms(1000) == 1
    assert billable_kilograms(1001) == 2


def test_shipping_cost_by_zone():
    parcel = Parcel(42, "Ada Lovelace", "London", 2500, zone="eu")
    assert shipping_cost(parcel) == 27.0


def test_unknown_zone_rejected():
    with pytest.raises(ValueError):
        shipping_cost(Parcel(1, "X", "Y", 100, zone="moon"))


def test_label_text():
    parcel = Parcel(1042, "Ada Lovelace", "London", 800)
    assert label_text(parcel) == "ORDER #1042\nADA LOVELACE\nLONDON\n1 KG / DOMESTIC"
