"""Minimal blog post model used by a static site generator."""

from dataclasses import dataclass, field
from datetime import date

from helpers import reading_time_minutes, slugify, truncate_words


@dataclass
class Post:
    """A single blog post."""

    title: str
    body: str
    published: date
    tags: list = field(default_factory=list)

    @property
    def slug(self):
        """URL slug derived from the title."""
        return slugify(self.title)

    @property
    def url(self):
        """Site-relative URL of the post, e.g. ``/2024/03/my-post/``."""
        return f"/{self.published:%Y/%m}/{self.slug}/"

    def summary(self, words=20):
        """Short teaser shown on the index page."""
        return truncate_words(self.body, words)

    def reading_time(self):
        """Estimated reading time in minutes."""
        return reading_time_minutes(self.body)


def index_by_tag(posts):
    """Group posts by tag, returning ``{tag: [slug, ...]}`` sorted by date."""
    index = {}
    for post in sorted(posts, key=lambda p: p.published):
        for tag in post.tags:
            index.setdefault(tag, []).append(post.slug)
    return index
