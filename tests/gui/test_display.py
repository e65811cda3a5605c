"""How values become text: the countdown."""

from __future__ import annotations

import pytest

from gui.display import countdown


@pytest.mark.parametrize("seconds, shown", [
    (300, "05:00"), (299.2, "05:00"), (0.4, "00:01"), (0, "00:00"), (-3, "00:00"),
    (3599, "59:59"), (3600, "1:00:00"), (3661, "1:01:01"), (86400, "24:00:00"), (86399.5, "24:00:00"),
])
def test_the_countdown_reads_mm_ss_below_an_hour_and_h_mm_ss_from_an_hour_on(seconds, shown):
    assert countdown(seconds) == shown
