"""Login throttling under concurrency: atomic counters, the owner not locked out, bounded argon2 work."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from argon2 import PasswordHasher

from lydiard.errors import AuthenticationError, RateLimitedError
from lydiard.services import users as user_svc
from lydiard.services.access import Actor

PASSWORD = "correct horse battery staple 42"


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(user_svc, "_hasher", lambda: PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def _counting_verify(monkeypatch: pytest.MonkeyPatch, delay_s: float = 0.0) -> dict[str, int]:
    """Wrap the password check: how many ran, and the most at once."""
    real = user_svc._verify
    stats = {"calls": 0, "running": 0, "peak": 0}
    lock = threading.Lock()

    def verify(password_hash: str, password: str) -> bool:
        with lock:
            stats["calls"] += 1
            stats["running"] += 1
            stats["peak"] = max(stats["peak"], stats["running"])
        try:
            time.sleep(delay_s)
            return real(password_hash, password)
        finally:
            with lock:
                stats["running"] -= 1

    monkeypatch.setattr(user_svc, "_verify", verify)
    return stats


def _attempt(ctx: Any, email: str, password: str, address: str) -> str:
    try:
        user_svc.login(ctx, email=email, password=password, address=address)
    except RateLimitedError:
        return "limited"
    except AuthenticationError:
        return "wrong"
    return "ok"


def test_a_burst_of_wrong_logins_checks_at_most_the_limit(ctx: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    user = user_svc.create_user(ctx, Actor.system(), email="target@example.org", password=PASSWORD,
                                display_name="Target")
    stats = _counting_verify(monkeypatch, delay_s=0.01)
    limit = ctx.settings.login_attempts_per_15min
    n = 60
    with ThreadPoolExecutor(max_workers=n) as pool:
        outcomes = list(pool.map(lambda i: _attempt(ctx, user.email, f"wrong guess number {i}", "198.51.100.1"),
                                 range(n)))
    assert stats["calls"] <= limit, f"{stats['calls']} passwords were checked, limit {limit}"
    assert outcomes.count("wrong") == stats["calls"] and outcomes.count("limited") == n - stats["calls"]
    assert stats["peak"] <= ctx.settings.password_check_concurrency
    # the owner, from another client with no failures, still gets in; the attacker's client does not
    assert _attempt(ctx, user.email, PASSWORD, "203.0.113.5") == "ok"
    assert _attempt(ctx, user.email, PASSWORD, "198.51.100.1") == "limited"


def test_a_burst_over_many_accounts_is_bounded_per_address(ctx: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    stats = _counting_verify(monkeypatch)
    ctx.settings = ctx.settings.model_copy(update={"login_attempts_per_address_15min": 20})
    with ThreadPoolExecutor(max_workers=50) as pool:
        outcomes = list(pool.map(lambda i: _attempt(ctx, f"u{i}@example.org", "wrong guess here", "198.51.100.2"),
                                 range(50)))
    assert stats["calls"] <= 20 and outcomes.count("limited") == 50 - stats["calls"]


def test_password_checks_wait_for_a_slot(ctx: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Distinct clients (no throttling applies): argon2 work still runs at most N at once."""
    user = user_svc.create_user(ctx, Actor.system(), email="busy@example.org", password=PASSWORD,
                                display_name="Busy")
    stats = _counting_verify(monkeypatch, delay_s=0.05)
    with ThreadPoolExecutor(max_workers=16) as pool:
        outcomes = list(pool.map(lambda i: _attempt(ctx, user.email, PASSWORD, f"192.0.2.{i}"), range(16)))
    assert outcomes == ["ok"] * 16 and stats["calls"] == 16
    assert stats["peak"] <= ctx.settings.password_check_concurrency
