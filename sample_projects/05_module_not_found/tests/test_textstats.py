import pytest

from textstats import (
    mean_word_length,
    median_sentence_length,
    top_words,
    word_count,
)

SAMPLE = "The cat sat. The cat ran away quickly! Did the dog follow?"


def test_word_count_ignores_punctuation():
    assert word_count(SAMPLE) == 12


def test_mean_word_length():
    assert mean_word_length("aa bbbb") == pytest.approx(3.0)
    assert mean_word_length("") == 0.0


def test_median_sentence_length():
    assert median_sentence_length(SAMPLE) == 4


def test_top_words():
    assert top_words(SAMPLE, n=2) == [("the", 3), ("cat", 2)]
