"""Temperature conversion and simple weather-log statistics."""

ABSOLUTE_ZERO_C = -273.15


def celsius_to_fahrenheit(celsius):
    """Convert degrees Celsius to degrees Fahrenheit."""
    return celsius * 9 / 5 + 32


def fahrenheit_to_celsius(fahrenheit):
    """Convert degrees Fahrenheit to degrees Celsius."""
    return (fahrenheit - 32) * 5 / 9


def celsius_to_kelvin(celsius):
    """Convert degrees Celsius to Kelvin, rejecting impossible values."""
    if celsius < ABSOLUTE_ZERO_C:
        raise ValueError(f"{celsius} C is below absolute zero")
    return celsius + 273.15


def classify(celsius):
    """Return a rough human label for a temperature in Celsius."""
    if celsius < 0:
        return "freezing"
    if celsius < 15:
        return "cold"
    if celsius < 25:
        return "mild"
    return "hot"


def daily_range(readings):
    """Return ``(min, max)`` of a day's readings in Celsius."""
    if not readings:
        raise ValueError("no readings for this day")
    return min(readings), max(readings)
