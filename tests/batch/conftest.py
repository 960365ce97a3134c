"""Fixtures of the batch tests."""

from __future__ import annotations

import pytest
from batch_seed import Seeded, seed_store

from lydiard.services.context import Context


@pytest.fixture
def seeded(ctx: Context) -> Seeded:
    return seed_store(ctx)
