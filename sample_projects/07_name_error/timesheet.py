"""Timesheet calculations for hourly contractors."""

from datetime import datetime

TIME_FORMAT = "%H:%M"


def shift_hours(start, end):
    """Return the length of a shift in hours.

    ``start`` and ``end`` are ``"HH:MM"`` strings on the same day.
    """
    started = datetime.strptime(start, TIME_FORMAT)
    ended = datetime.strptime(end, TIME_FORMAT)
    if ended <= started:
        raise ValueError(f"shift ends before it starts: {start}-{end}")
    return (ended - started).total_seconds() / 3600


def weekly_hours(shifts):
    """Sum the hours of a list of ``(start, end)`` shifts, rounded to 2 dp."""
    total = 0.0
    for start, end in shifts:
        total += shift_hours(start, end)
    return round(total, 2)


def overtime_hours(hours, threshold=40.0):
    """Hours worked beyond ``threshold`` (never negative)."""
    return max(0.0, hours - threshold)


def weekly_pay(shifts, rate, overtime_multiplier=1.5):
    """Gross pay for a week, paying overtime at ``overtime_multiplier``."""
    hours = weekly_hours(shifts)
    extra = overtime_hours(hours)
    regular = hours - extra
    return round(regular * rate + extra * rate * overtime_multiplier, 2)
