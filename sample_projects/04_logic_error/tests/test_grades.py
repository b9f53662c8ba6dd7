import pytest

from grades import grade_distribution, letter_grade, weighted_average


def test_letter_grade_boundaries_are_inclusive():
    assert letter_grade(90) == "A"
    assert letter_grade(80) == "B"
    assert letter_grade(60) == "D"


def test_letter_grade_middle_of_band():
    assert letter_grade(95) == "A"
    assert letter_grade(72) == "C"
    assert letter_grade(12) == "F"


def test_letter_grade_rejects_out_of_range():
    with pytest.raises(ValueError):
        letter_grade(101)


def test_weighted_average():
    assert weighted_average([80, 90], [1, 3]) == pytest.approx(87.5)


def test_grade_distribution():
    assert grade_distribution([90, 85, 70, 59, 100]) == {
        "A": 2,
        "B": 1,
        "C": 1,
        "D": 0,
        "F": 1,
    }
