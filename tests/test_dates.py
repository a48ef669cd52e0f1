"""articles.dates: moment.js-style patterns."""

import datetime

import pytest

from articles.dates import format_date

DAY = datetime.date(2024, 11, 29)


@pytest.mark.parametrize(
    "pattern, expected",
    [
        ("MMM DD, YYYY", "Nov 29, 2024"),
        ("MMMM D, YYYY", "November 29, 2024"),
        ("DD/MM/YY", "29/11/24"),
        ("dddd, Do MMMM", "Friday, 29th November"),
        ("[Week of] MMM D", "Week of Nov 29"),
        ("", "Nov 29, 2024"),
    ],
)
def test_moment_patterns(pattern, expected):
    assert format_date(DAY, pattern) == expected


def test_single_digit_days_are_padded_by_dd():
    assert format_date(datetime.date(2024, 3, 5), "MMM DD, YYYY") == "Mar 05, 2024"
