"""Login throttling, in memory with explicit time."""

from webims_auth import throttle
from webims_auth.throttle import LoginThrottle, ThrottlePolicy


def test_a_key_is_locked_after_too_many_failures_and_freed_after_the_lockout():
    gate = LoginThrottle(ThrottlePolicy(max_failures=3, window_seconds=60, lockout_seconds=30))
    for t in (0, 1, 2):
        gate.failed(["user:mary"], t)
    assert gate.retry_after(["user:mary", "addr:1.2.3.4"], 3) == 29
    assert gate.retry_after(["user:mary"], 33) == 0


def test_failures_outside_the_window_do_not_count():
    gate = LoginThrottle(ThrottlePolicy(max_failures=3, window_seconds=10, lockout_seconds=30))
    for t in (0, 20, 40):
        gate.failed(["user:mary"], t)
    assert gate.retry_after(["user:mary"], 41) == 0


def test_a_flood_of_made_up_usernames_does_not_grow_without_bound(monkeypatch):
    monkeypatch.setattr(throttle, "PRUNE_ABOVE", 100)
    gate = LoginThrottle(ThrottlePolicy(max_failures=5, window_seconds=10, lockout_seconds=30))
    for i in range(1000):
        gate.failed([f"user:nobody{i}"], now=i * 0.1)
    assert len(gate._failures) <= 200
