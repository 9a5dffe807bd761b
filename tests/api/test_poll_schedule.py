"""The wait schedule's statistics, computed from seeded schedules (no clocks, no sleeping).

A change at a random moment of the first minute must be noticed with a median lag
under a second, at no more than one request a second; longer waits back off; clients
started together do not poll in lockstep.
"""

from __future__ import annotations

import bisect
import itertools
import random
import statistics

import pytest

import pixxel_geo as px

SEEDS = range(20)


def poll_times(schedule: px.PollSchedule, seed: int, until: float) -> list[float]:
    """When a wait polls: at 0, then after each gap, up to ``until`` seconds."""
    times = [0.0]
    for gap in schedule.gaps(random.Random(seed)):
        if times[-1] + gap > until:
            return times
        times.append(times[-1] + gap)
    raise AssertionError("unreachable")


def lags(times: list[float], ready: list[float]) -> list[float]:
    """For each moment a resource becomes ready, how long until the next poll sees it."""
    return [times[bisect.bisect_left(times, t)] - t for t in ready]


READY = [i / 100 for i in range(1, 6001)]  # every 10 ms of the first minute


@pytest.mark.parametrize("seed", SEEDS)
def test_first_minute_median_lag_under_a_second_at_most_one_request_a_second(seed):
    times = poll_times(px.PollSchedule(), seed, until=200)
    first_minute = [t for t in times if t <= 60]
    gaps = [b - a for a, b in itertools.pairwise(first_minute)]
    assert min(gaps) >= 1.0  # never more than one request a second
    assert len(first_minute) <= 61
    lag = lags(times, READY)
    assert statistics.median(lag) < 1.0
    assert statistics.mean(lag) < 1.0
    assert max(lag) <= 1.5


def test_the_old_fixed_schedule_was_late():
    old = px.PollSchedule(first=1.0, factor=1.5, cap=12.0, steady=0, jitter=0)
    assert statistics.median(lags(poll_times(old, 0, until=200), READY)) > 2.0


@pytest.mark.parametrize("seed", SEEDS)
def test_long_waits_back_off_to_the_cap(seed):
    schedule = px.PollSchedule()
    times = poll_times(schedule, seed, until=3600)
    late = [b - a for a, b in itertools.pairwise(times) if a > 300]
    assert all(schedule.cap / (1 + schedule.jitter) <= g <= schedule.cap for g in late)
    assert len(times) < 60 + 3600 / 8  # an hour's wait costs a few hundred requests, not thousands
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert max(gaps) <= schedule.cap


def test_clients_started_together_do_not_poll_in_lockstep():
    schedule = px.PollSchedule()
    coincident = []
    for a, b in itertools.combinations(range(8), 2):
        mine, theirs = poll_times(schedule, a, 600), poll_times(schedule, b, 600)
        near = sum(1 for t in mine[1:] if min(abs(t - u) for u in theirs) < 0.05)
        coincident.append(near / (len(mine) - 1))
    assert statistics.mean(coincident) < 0.15
    # at the cap as well as in the first minute
    late = [t for t in poll_times(schedule, 1, 3600) if t > 600][:10]
    other = [t for t in poll_times(schedule, 2, 3600) if t > 600][:10]
    assert late != other


def test_a_seeded_schedule_is_reproducible_and_intervals_use_it():
    schedule = px.PollSchedule()
    one = list(itertools.islice(schedule.intervals(rng=random.Random(7)), 30))
    two = list(itertools.islice(schedule.intervals(rng=random.Random(7)), 30))
    assert one == two and len(set(one)) > 20


@pytest.mark.parametrize("kwargs", [{"jitter": -0.1}, {"steady": float("nan")}, {"jitter": True}])
def test_bad_schedules_are_refused(kwargs):
    with pytest.raises(px.ConfigurationError):
        px.PollSchedule(**kwargs)
