"""A figure and its baseline measured in pairs, back to back, and the median pair kept.

On a shared machine the load of others comes and goes over seconds: the same
round measured twice a minute apart can differ by a quarter. A baseline taken
once, or the best round of each side, leaves the ratio to whichever side was
lucky. So both sides are measured in pairs, one right after the other and in
alternating order (baseline first, then the figure first, and so on), and the
run reports the pair whose ratio is the median one: one lucky or unlucky round
on either side cannot decide it, and both numbers shown are from the same
moment. Every pair is kept in results.json.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

PAIRS = 3  # odd, so that one pair is the median

Measured = TypeVar("Measured")
Baseline = TypeVar("Baseline")


def measure_pairs(measure: Callable[[], Measured], baseline: Callable[[], Baseline],
                  pairs: int = PAIRS) -> list[tuple[Measured, Baseline]]:
    """``pairs`` of (``measure()``, ``baseline()``), taken back to back in alternating order."""
    taken = []
    for number in range(pairs):
        if number % 2 == 0:
            base = baseline()
            taken.append((measure(), base))
        else:
            measured = measure()
            taken.append((measured, baseline()))
    return taken


def median_pair(pairs: list[tuple[Measured, Baseline]],
                ratio: Callable[[Measured, Baseline], float]) -> tuple[Measured, Baseline]:
    """The pair whose ``ratio(measured, baseline)`` is the median of all pairs' (the upper one of two)."""
    return sorted(pairs, key=lambda pair: ratio(*pair))[len(pairs) // 2]
