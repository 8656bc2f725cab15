"""The lenient readers every source shares."""

from __future__ import annotations

import datetime as dt

import pytest

from shared.sources.readers import parse_time

UTC = dt.UTC
PLUS_2 = dt.timezone(dt.timedelta(hours=2))


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("2026-12-01T10:00:00Z", dt.datetime(2026, 12, 1, 10, tzinfo=UTC)),
        ("2026-12-01T10:00:00z", dt.datetime(2026, 12, 1, 10, tzinfo=UTC)),
        # The fraction's digits must not swallow the offset (this was shown as 10:00 UTC).
        ("2026-12-01T10:00:00.123+02:00", dt.datetime(2026, 12, 1, 10, 0, 0, 123000, tzinfo=PLUS_2)),
        # Go and .NET print nine fractional digits; six are kept.
        ("2026-12-01T10:00:00.123456789+02:00", dt.datetime(2026, 12, 1, 10, 0, 0, 123456, tzinfo=PLUS_2)),
        ("2026-12-01T10:00:00.1234567Z", dt.datetime(2026, 12, 1, 10, 0, 0, 123456, tzinfo=UTC)),
        ("2026-12-01T10:00:00", dt.datetime(2026, 12, 1, 10, tzinfo=UTC)),  # no offset: UTC
    ],
)
def test_rfc_3339_times_keep_their_offset(text: str, moment: dt.datetime) -> None:
    parsed = parse_time(text)
    assert parsed == moment
    assert parsed is not None and parsed.utcoffset() == moment.utcoffset()


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "  ",
        1733047200,
        "0001-01-01T00:00:00Z",
        "yesterday",
        "2026-13-01",
        # In year 10000 once in UTC: converting it raised OverflowError, an empty 500.
        "9999-12-31T23:00:00-02:00",
        "0001-01-01T01:00:00+05:00",  # the other end, before year 1 in UTC
        "1969-12-31T23:59:59Z",
        "2200-01-01T00:00:00Z",
    ],
)
def test_absent_zero_or_unreadable_times_are_none(value: object) -> None:
    assert parse_time(value) is None


def test_a_map_keeps_its_first_entries_only() -> None:
    from shared.sources.readers import MAX_MAP_ENTRIES, string_map

    labels = {f"l{index}": "v" for index in range(MAX_MAP_ENTRIES * 3)}
    assert list(string_map(labels)) == [f"l{index}" for index in range(MAX_MAP_ENTRIES)]
