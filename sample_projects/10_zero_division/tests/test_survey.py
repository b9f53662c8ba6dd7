import pytest

from survey import average_rating, net_promoter_style_score, summary


def test_average_rating():
    assert average_rating([5, 4, 4, 3]) == 4.0


def test_average_rating_of_empty_survey_is_zero():
    assert average_rating([]) == 0.0


def test_invalid_rating_rejected():
    with pytest.raises(ValueError):
        average_rating([5, 6])


def test_score():
    assert net_promoter_style_score([5, 5, 4, 3, 1]) == 40


def test_summary_for_empty_survey():
    assert summary("Q3 checkout", []) == "Q3 checkout: 0 responses, avg 0.0, score 0"
