"""Unit constants used across layers."""

from __future__ import annotations

SEMICIRCLE_TO_DEG = 180.0 / 2**31  #: FIT stores positions in semicircles (2^31 = 180 degrees)
