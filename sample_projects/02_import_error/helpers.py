"""Text helpers shared by the blog publishing code."""

import re
import unicodedata


def slugify(title):
    """Turn an arbitrary title into a lowercase, hyphen-separated URL slug.

    Accented characters are folded to ASCII and any run of characters that
    is not a letter or digit becomes a single hyphen.
    """
    normalized = unicodedata.normalize("NFKD", title)
    ascii_only = normalized.encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-zA-Z0-9]+", "-", ascii_only).strip("-")
    return slug.lower()


def truncate_words(text, limit):
    """Return at most ``limit`` words of ``text``, adding an ellipsis if cut."""
    words = text.split()
    if len(words) <= limit:
        return " ".join(words)
    return " ".join(words[:limit]) + "..."


def reading_time_minutes(text, words_per_minute=200):
    """Estimate reading time in whole minutes (at least one)."""
    words = len(text.split())
    return max(1, -(-words // words_per_minute))
