"""Descriptive statistics for plain-text documents."""

import re
import statistics
from collections import Counter

WORD_RE = re.compile(r"[A-Za-z']+")


def words(text):
    """Return the lowercase words in ``text``, ignoring punctuation."""
    return [w.lower() for w in WORD_RE.findall(text)]


def word_count(text):
    """Number of words in ``text``."""
    return len(words(text))


def mean_word_length(text):
    """Average word length in characters (0.0 for empty text)."""
    ws = words(text)
    if not ws:
        return 0.0
    return statistics.mean(len(w) for w in ws)


def median_sentence_length(text):
    """Median number of words per sentence.

    Sentences are split on ``.``, ``!`` and ``?``; empty fragments are
    ignored.
    """
    sentences = [s for s in re.split(r"[.!?]+", text) if s.strip()]
    if not sentences:
        return 0
    return statistics.median(word_count(s) for s in sentences)


def top_words(text, n=3):
    """Return the ``n`` most common words as ``(word, count)`` pairs."""
    return Counter(words(text)).most_common(n)
