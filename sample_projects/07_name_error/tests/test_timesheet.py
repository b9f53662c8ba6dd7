import pytest

from timesheet import overtime_hours, shift_hours, weekly_hours, weekly_pay


def test_shift_hours():
    assert shift_hours("09:00", "17:30") == pytest.approx(8.5)


def test_shift_must_end_after_start():
    with pytest.raises(ValueError):
        shift_hours("18:00", "09:00")


def test_weekly_hours_sums_shifts():
    shifts = [("09:00", "17:00"), ("09:00", "13:15"), ("14:00", "15:00")]
    assert weekly_hours(shifts) == 13.25


def test_overtime_never_negative():
    assert overtime_hours(35) == 0.0
    assert overtime_hours(44) == 4.0


def test_weekly_pay_includes_overtime():
    shifts = [("08:00", "18:00")] * 5  # 50 hours
    assert weekly_pay(shifts, rate=20) == 40 * 20 + 10 * 30
