"""Aggregate customer-satisfaction survey responses (1-5 star ratings)."""

from collections import Counter

VALID_RATINGS = range(1, 6)


def validate(ratings):
    """Raise ``ValueError`` if any rating is outside 1..5."""
    bad = [r for r in ratings if r not in VALID_RATINGS]
    if bad:
        raise ValueError(f"invalid ratings: {bad}")


def average_rating(ratings):
    """Mean star rating rounded to one decimal; 0.0 when nobody answered."""
    validate(ratings)
    if not ratings:
        return 0.0
    return round(sum(ratings) / len(ratings), 1)


def net_promoter_style_score(ratings):
    """Percentage of 4-5 star ratings minus percentage of 1-2 star ratings."""
    validate(ratings)
    counts = Counter(ratings)
    total = len(ratings)
    if total == 0:
        return 0
    promoters = counts[4] + counts[5]
    detractors = counts[1] + counts[2]
    return round(100 * (promoters - detractors) / total)


def summary(survey_name, ratings):
    """One-line human-readable summary of a survey."""
    return (
        f"{survey_name}: {len(ratings)} responses, "
        f"avg {average_rating(ratings)}, score {net_promoter_style_score(ratings)}"
    )
