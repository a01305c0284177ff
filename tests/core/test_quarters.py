import datetime as dt

import pytest

from etl.core.quarters import days_in_quarter, quarter_end, quarter_range, reported_quarter, shift


@pytest.mark.parametrize("logical, expected", [
    (dt.datetime(2025, 1, 5, 6, 0), "2024Q4"),
    (dt.datetime(2024, 4, 5, 6, 0), "2024Q1"),
    (dt.datetime(2024, 7, 5), "2024Q2"),
    (dt.datetime(2024, 10, 5), "2024Q3"),
    (dt.date(2024, 12, 31), "2024Q3"),
])
def test_reported_quarter_is_the_last_finished_one(logical, expected):
    assert reported_quarter(logical) == expected


def test_quarter_arithmetic():
    assert shift("2024Q1", -1) == "2023Q4"
    assert shift("2023Q4", 5) == "2025Q1"
    assert quarter_end("2024Q1") == dt.date(2024, 3, 31)
    assert days_in_quarter("2024Q1") == 91     # leap year
    assert days_in_quarter("2023Q1") == 90
    assert quarter_range("2023Q3", "2024Q2") == ["2023Q3", "2023Q4", "2024Q1", "2024Q2"]
