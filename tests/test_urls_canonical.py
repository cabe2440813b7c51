"""Canonical URLs: one page, one URL, one listing ID."""

import pytest

from core.urls import canonical_url, listing_id


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://Board.example:80/index.html", "http://board.example/"),
        ("http://board.example/ads/INDEX.HTM?page=2", "http://board.example/ads/?page=2"),
        ("http://board.example/ads/index.php#top", "http://board.example/ads/"),
        ("http://board.example/ads/index.html.bak", "http://board.example/ads/index.html.bak"),
        ("http://board.example/myindex.html", "http://board.example/myindex.html"),
    ],
)
def test_a_directory_and_its_index_file_are_one_page(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


def test_index_file_shares_the_listing_id() -> None:
    assert listing_id("http://board.example/index.html") == listing_id("http://board.example/")
