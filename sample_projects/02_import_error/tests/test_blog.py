from datetime import date

from blog import Post, index_by_tag


def test_slug_folds_accents_and_punctuation():
    post = Post("Café Culture: A Guide!", "body", date(2024, 3, 1))
    assert post.slug == "cafe-culture-a-guide"


def test_url_contains_year_month_and_slug():
    post = Post("Hello World", "body", date(2024, 3, 9))
    assert post.url == "/2024/03/hello-world/"


def test_summary_truncates_long_body():
    post = Post("T", "one two three four five six", date(2024, 1, 1))
    assert post.summary(words=3) == "one two three..."
    assert post.summary(words=10) == "one two three four five six"


def test_reading_time_rounds_up():
    post = Post("T", "word " * 450, date(2024, 1, 1))
    assert post.reading_time() == 3


def test_index_by_tag_orders_by_date():
    newer = Post("Newer", "b", date(2024, 5, 1), tags=["rust"])
    older = Post("Older", "b", date(2023, 5, 1), tags=["rust", "python"])
    assert index_by_tag([newer, older]) == {
        "rust": ["older", "newer"],
        "python": ["older"],
    }
