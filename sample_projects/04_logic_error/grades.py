"""Gradebook helpers for a small course-management script."""

# Lowest score (inclusive) required for each letter grade, best first.
GRADE_BOUNDARIES = [
    (90, "A"),
    (80, "B"),
    (70, "C"),
    (60, "D"),
]


def letter_grade(score):
    """Map a numeric score in 0..100 to a letter grade.

    Boundaries are inclusive: a score of exactly 90 is an "A".
    """
    if not 0 <= score <= 100:
        raise ValueError(f"score out of range: {score}")
    for threshold, letter in GRADE_BOUNDARIES:
        if score >= threshold:
            return letter
    return "F"


def weighted_average(scores, weights):
    """Return the weighted average of ``scores`` using ``weights``."""
    if len(scores) != len(weights):
        raise ValueError("scores and weights must have the same length")
    total_weight = sum(weights)
    return sum(s * w for s, w in zip(scores, weights)) / total_weight


def grade_distribution(scores):
    """Count how many scores fall in each letter grade, including zeros."""
    counts = {letter: 0 for _, letter in GRADE_BOUNDARIES}
    counts["F"] = 0
    for score in scores:
        counts[letter_grade(score)] += 1
    return counts
