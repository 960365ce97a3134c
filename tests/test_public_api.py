"""The public API: every name in ``lydiard.__all__`` resolves, and the core calls work."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import lydiard


@pytest.mark.parametrize("name", lydiard.__all__)
def test_every_public_name_resolves(name: str) -> None:
    assert getattr(lydiard, name) is not None


def test_unknown_name_raises_attribute_error() -> None:
    with pytest.raises(AttributeError):
        _ = lydiard.no_such_thing  # type: ignore[attr-defined]


def test_pmc_signature_from_the_issue() -> None:
    days = pd.date_range("2025-01-01", periods=42, freq="D")
    out = lydiard.pmc(pd.Series(100.0, index=days), ctl_days=42, atl_days=7, convention="exp")
    assert list(out.columns[:3]) == ["ctl", "atl", "tsb"]
    assert out["ctl"].iloc[-1] == pytest.approx(63.21, abs=0.01)
    assert out["atl"].iloc[-1] == pytest.approx(99.75, abs=0.01)


def test_rmssd_and_errors_are_public() -> None:
    assert lydiard.rmssd_ms(np.array([800.0, 810.0, 790.0, 805.0])) > 0
    assert issubclass(lydiard.LydiardError, Exception)
