"""A small lending-library catalogue."""

from dataclasses import dataclass


@dataclass
class Book:
    """A catalogued book."""

    isbn: str
    title: str
    author: str
    on_loan: bool = False


class Library:
    """Holds books and tracks which are currently on loan."""

    def __init__(self):
        self.books = {}

    def add(self, book):
        """Add ``book`` to the catalogue; ISBNs must be unique."""
        if book.isbn in self.books:
            raise ValueError(f"duplicate ISBN {book.isbn}")
        self.books[book.isbn] = book

    def by_author(self, author):
        """Return titles by ``author``, sorted alphabetically."""
        return sorted(b.title for b in self.books.values() if b.author == author)

    def checkout(self, isbn):
        """Lend the book with ``isbn``; raise if it is already out."""
        book = self.books[isbn]
        if book.on_loan:
            raise RuntimeError(f"{book.title!r} is already on loan")
        book.on_loan = True
        return book

    def give_back(self, isbn):
        """Return a lent book to the shelf."""
        self.books[isbn].on_loan = False

    def available(self):
        """Return the ISBNs of books currently on the shelf, sorted."""
        return sorted(isbn for isbn, b in self.books.items() if not b.on_loan)
