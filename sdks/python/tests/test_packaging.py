"""The tests run against the installed wheel, not the source tree, and the wheel is typed."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import metronis


def test_runs_from_the_installed_wheel() -> None:
    location = Path(metronis.__file__).resolve()
    assert "site-packages" in location.parts, f"metronis imported from {location}, not from the installed wheel"
    assert (location.parent / "py.typed").exists()
    assert importlib.metadata.version("metronis") == metronis.__version__
    assert importlib.metadata.metadata("metronis")["Requires-Python"] == ">=3.10"
