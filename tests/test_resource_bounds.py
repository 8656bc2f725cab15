"""The worst bodies within the 6 MB limit are answered quickly, in bounded memory, never with a 5xx.

Each input of bench/hostile_inputs.py (two million empty alerts, one alert with 300,000 labels,
100,000 recipients, 6 MB of HTML, ...) runs in a fresh process through the real user function, as
the Functions worker calls it; that script prints the same figures for the record. The target is
2 s and 300 MiB of extra peak RSS per request; the time asserted is three times that, the machine
running tests being shared and loaded (before the bounds, two million empty alerts took 35 to 71 s
and 2.3 to 2.6 GiB). Memory does not depend on the load and is asserted as it is.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

TARGET_S = 2.0
TIME_MARGIN = 3
MAX_EXTRA_PEAK_RSS_MIB = 300


def _hostile_inputs() -> ModuleType:
    path = Path(__file__).resolve().parents[1] / "bench" / "hostile_inputs.py"
    spec = importlib.util.spec_from_file_location("hostile_inputs", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


HOSTILE_INPUTS = _hostile_inputs()


@pytest.mark.parametrize("name", list(HOSTILE_INPUTS.INPUTS))
def test_a_hostile_body_is_answered_in_bounded_time_and_memory(name: str) -> None:
    result = HOSTILE_INPUTS.measure(name, timeout_s=120)
    assert result["status"] < 500, result
    if result["status"] >= 400:
        assert result["mailed"] == 0, result
    assert result["extra_peak_rss_mib"] < MAX_EXTRA_PEAK_RSS_MIB, result
    assert result["seconds"] < TARGET_S * TIME_MARGIN, result
