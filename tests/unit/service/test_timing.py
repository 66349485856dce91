"""The release clock: a response leaves at the floor, or at the first doubling of it that
has not passed (so a slow release's time says only its power of two)."""

from __future__ import annotations

import math

import pytest

from ethica.service._timing import release_deadline


@pytest.mark.parametrize(
    ("elapsed", "deadline"),
    [(0.0, 0.25), (0.1, 0.25), (0.25, 0.25), (0.2500001, 0.5), (0.5, 0.5), (0.9, 1.0),
     (1.0, 1.0), (3.3, 4.0), (1000.0, 1024.0)],
)  # fmt: skip
def test_the_deadline_is_the_first_doubling_of_the_floor_not_passed(
    elapsed: float, deadline: float
) -> None:
    assert release_deadline(elapsed, 0.25) == deadline


def test_every_time_below_the_floor_is_answered_alike_and_above_it_in_powers_of_two() -> None:
    """What an observer sees is a function of the power of two alone: 1,000 elapsed times
    spread over [0, 8 T] fall on 4 response times."""
    floor = 0.3
    times = {release_deadline(floor * 8 * i / 1000, floor) for i in range(1001)}
    assert times == {floor, 2 * floor, 4 * floor, 8 * floor}
    assert all(release_deadline(t, floor) >= t for t in (0.0, 0.31, 0.6, 5.0))


@pytest.mark.parametrize("floor", [0.0, -1.0, math.inf, math.nan])
def test_a_floor_that_is_not_a_positive_time_is_refused(floor: float) -> None:
    with pytest.raises(ValueError, match="floor must be a positive number of seconds"):
        release_deadline(0.1, floor)
