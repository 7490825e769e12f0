"""The configuration floors' arithmetic: when every window of a tier crosses its threshold, and when
one drops back under it."""

from __future__ import annotations

import math

import pytest

from chaos.floors import BurnWindows, Timing, bound, burn_floors, outage_floors, time_to_burn, time_to_drain, window_ratio

PAGE_99_9 = 14.4 * 0.001  # the 1h/5m page threshold of a 99.9% SLO, as an error ratio


def test_window_ratio_at_steady_traffic() -> None:
    # an hour of clean history, then 60 s of 100% errors: 60/300 of the 5m window, 60/3600 of the hour
    segments = [(3600.0, 0.0, 5.0), (60.0, 1.0, 5.0)]
    assert window_ratio(segments, 300) == pytest.approx(0.2)
    assert window_ratio(segments, 3600) == pytest.approx(60 / 3600)


def test_window_ratio_weighs_by_request_rate() -> None:
    # history at 10 req/s, the faulty minute at 2 req/s: 120 bad of 600 + 120 requests in the 5m window
    assert window_ratio([(3600.0, 0.0, 10.0), (60.0, 1.0, 2.0)], 300) == pytest.approx(120 / (2400 + 120))


def test_full_error_burst_needs_the_long_window_share() -> None:
    tier = BurnWindows((3600.0, 300.0), PAGE_99_9)
    # the 1h window needs 0.0144 x 3600 = 51.84 s of errors; the 5m window far less
    assert time_to_burn(tier, 1.0) == pytest.approx(52.0)


def test_half_error_rate_takes_twice_as_long() -> None:
    tier = BurnWindows((3600.0, 300.0), PAGE_99_9)
    assert time_to_burn(tier, 0.5) == pytest.approx(104.0)


def test_error_rate_under_the_threshold_never_fires() -> None:
    assert time_to_burn(BurnWindows((3600.0, 300.0), PAGE_99_9), 0.01) is None


def test_short_history_fires_almost_at_once() -> None:
    # a Prometheus up for a minute at 5 req/s: rate() over 1h reads 300 requests / 3600 s
    tier = BurnWindows((3600.0, 300.0), PAGE_99_9, window_rps=(300 / 3600, 300 / 300), live_rps=5.0)
    assert time_to_burn(tier, 1.0) == pytest.approx(1.0)


def test_history_busier_than_live_traffic_slows_detection() -> None:
    # backfilled at 10 req/s, live 2.5 req/s: 2.5d > 0.0144 x (10 x (3600 - d) + 2.5d) gives d > 198.8 s
    tier = BurnWindows((3600.0, 300.0), PAGE_99_9, window_rps=(10.0, 10.0), live_rps=2.5)
    assert time_to_burn(tier, 1.0) == pytest.approx(199.0)


def test_baseline_errors_shorten_detection() -> None:
    clean = BurnWindows((3600.0, 300.0), PAGE_99_9)
    dirty = BurnWindows((3600.0, 300.0), PAGE_99_9, baseline=(0.01, 0.0))
    assert time_to_burn(dirty, 1.0) < time_to_burn(clean, 1.0)


def test_resolution_waits_for_the_short_window_to_drain() -> None:
    tier = BurnWindows((3600.0, 300.0), PAGE_99_9)
    # 120 s of errors: the 5m window holds under 0.0144 x 300 = 4.32 s of them after 296 s
    assert time_to_drain(tier, 1.0, 120.0) == pytest.approx(296.0)


def test_burn_floors_add_the_pipeline() -> None:
    timing = Timing(scrape_interval_s=5, evaluation_interval_s=5, for_s=0, group_wait_s=5)
    floors = burn_floors(timing, BurnWindows((3600.0, 300.0), PAGE_99_9), 1.0, 120.0)
    assert floors.detect_s == pytest.approx(52.0 + 10)
    assert floors.notify_s == 5
    assert floors.resolve_s == pytest.approx(296.0 + 10)
    assert floors.parts["burn_arithmetic_s"] == pytest.approx(52.0)


def test_a_fault_too_small_has_an_infinite_floor() -> None:
    floors = burn_floors(Timing(5, 5), BurnWindows((3600.0, 300.0), PAGE_99_9), 0.001, 60.0)
    assert math.isinf(floors.detect_s)


def test_outage_floors_are_scrape_evaluation_and_for() -> None:
    floors = outage_floors(Timing(scrape_interval_s=5, evaluation_interval_s=5, for_s=60, group_wait_s=5))
    assert (floors.detect_s, floors.notify_s, floors.resolve_s) == (70, 5, 10)


def test_bound_scales_and_adds_a_margin() -> None:
    assert bound(100, 1.25, 30) == 155


def test_an_earlier_incident_in_the_long_window_leaves_the_short_window_to_drain() -> None:
    # The hour already holds 13% slow requests from an earlier drill (just under the 99% SLO's
    # 0.144): a 57 s burst pages, and only the 5m window can bring it back under the threshold,
    # once fewer than 0.144 x 300 = 43.2 s of the burst remain in it.
    tier = BurnWindows((3600.0, 300.0), 0.144, baseline=(0.13, 0.0), window_rps=(10.0, 10.0), live_rps=10.0)
    assert time_to_drain(tier, 1.0, 57.0) == pytest.approx(257.0)
