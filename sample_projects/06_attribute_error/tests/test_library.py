import pytest

from library import Book, Library


@pytest.fixture
def library():
    lib = Library()
    lib.add(Book("111", "Dune", "Frank Herbert"))
    lib.add(Book("222", "Children of Dune", "Frank Herbert"))
    lib.add(Book("333", "Emma", "Jane Austen"))
    return lib


def test_by_author_sorted(library):
    assert library.by_author("Frank Herbert") == ["Children of Dune", "Dune"]


def test_duplicate_isbn_rejected(library):
    with pytest.raises(ValueError):
        library.add(Book("111", "Dune (reprint)", "Frank Herbert"))


def test_checkout_and_return(library):
    library.checkout("333")
    assert library.available() == ["111", "222"]
    library.give_back("333")
    assert library.available() == ["111", "222", "333"]


def test_double_checkout_raises(library):
    library.checkout("111")
    with pytest.raises(RuntimeError):
        library.checkout("111")
