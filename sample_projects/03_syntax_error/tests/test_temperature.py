import pytest

from temperature import (
    celsius_to_fahrenheit,
    celsius_to_kelvin,
    classify,
    daily_range,
    fahrenheit_to_celsius,
)


def test_celsius_to_fahrenheit():
    assert celsius_to_fahrenheit(100) == 212
    assert celsius_to_fahrenheit(-40) == -40


def test_round_trip():
    assert fahrenheit_to_celsius(celsius_to_fahrenheit(37.5)) == pytest.approx(37.5)


def test_kelvin_rejects_below_absolute_zero():
    assert celsius_to_kelvin(0) == pytest.approx(273.15)
    with pytest.raises(ValueError):
        celsius_to_kelvin(-300)


def test_classify_labels():
    assert [classify(t) for t in (-5, 10, 20, 30)] == ["freezing", "cold", "mild", "hot"]


def test_daily_range():
    assert daily_range([12.5, 9.0, 17.25]) == (9.0, 17.25)
