"""The learned fork-rate baseline: what it learns, what it refuses to, and its file."""

import json

from otel_linnix.processors.rules.baseline import BUCKETS, HALVE_AFTER_S, RateBaseline

NS = 10**9


def test_learns_per_second_rates_holding_back_the_latest():
    base = RateBaseline(hold_back_s=5)
    for second in range(100):
        base.add(second * NS, 300)
    assert 90 <= base.learned_s <= 95  # the last seconds wait, in case a storm was starting
    assert base.quantile(0.999) == 512  # 300/s falls in [256, 512)
    base.discard_pending()  # a departure began: those seconds are never learned
    base.add(200 * NS, 1)
    assert base.quantile(0.999) == 512


def test_history_halves_and_stays_bounded():
    base = RateBaseline(hold_back_s=0)
    base.seconds[3] = HALVE_AFTER_S - 1
    base.add(0, 5)
    base.add(NS, 5)
    base.add(2 * NS, 5)
    assert len(base.seconds) == BUCKETS and base.learned_s < HALVE_AFTER_S


def test_file_round_trip_and_a_corrupt_file_is_ignored_with_a_warning(tmp_path, caplog):
    path = tmp_path / "rules" / "fork_storm.baseline.json"
    base = RateBaseline(str(path), hold_back_s=0)
    for second in range(30):
        base.add(second * NS, 1000)
    base.save()
    assert RateBaseline(str(path)).quantile(0.5) == 1024
    path.write_text(json.dumps({"version": 1, "fork_rate_seconds": [-1] * BUCKETS}))
    assert RateBaseline(str(path)).learned_s == 0
    path.write_text("{not json")
    assert RateBaseline(str(path)).learned_s == 0
    assert "ignoring the fork-rate baseline" in caplog.text
