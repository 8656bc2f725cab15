"""The benchmarks still run: make bench is not part of make test, so its scripts are run here once, tiny.

They instrument the app's steps by name (bench/per_message.py) and drive it as a fresh process
would (bench/cold_start.py); a rename in shared/ must fail here, not on the next `make bench`.
The figures themselves are measured by `make bench`, never asserted in a test.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


def run_section(script: str, *arguments: str) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, str(BENCH / script), *arguments], capture_output=True, text=True, timeout=120, check=False
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def test_per_message_times_every_step() -> None:
    result = run_section("per_message.py", "--rounds", "1", "--messages", "3")
    for payload, figures in result["payloads"].items():
        phases = figures["split"]["phases_us"]
        assert phases["http"] > 0, payload
        if payload.startswith("alertmanager"):
            assert phases["map"] > 0 and phases["render"] > 0, "the hooks path's steps were all timed"


def test_cold_start_compares_the_first_mail_with_the_floor_by_hand() -> None:
    result = run_section("cold_start.py", "--rounds", "1", "--first-message")
    assert {"floor", "ours", "floor first", "ours first simple"} <= set(result["wall_ms"])
    assert set(result["cpu_ms"]) == set(result["wall_ms"])
    assert result["first_message_ratio_of_medians"] > 0 and result["first_message_cpu_ratio_of_medians"] > 0
    assert result["first_hook_ratio_of_medians"] > 0


def test_a_cold_start_is_timed_to_the_answer_not_to_the_interpreters_teardown() -> None:
    # What a caller waits for ends at the answer; the teardown after it (a second here) must not count.
    sys.path.insert(0, str(BENCH))
    cold_start = importlib.import_module("cold_start")
    answers_then_lingers = (
        f"import time; print('{cold_start.MARK_PREFIX}', time.monotonic(), time.process_time(), flush=True); "
        "time.sleep(1)"
    )
    wall_ms, cpu_ms = cold_start.run_once([sys.executable, "-c", answers_then_lingers], dict(os.environ))
    assert 0 < wall_ms < 900 and 0 < cpu_ms < 900
    with pytest.raises(SystemExit, match="printed no mark"):
        cold_start.run_once([sys.executable, "-c", "pass"], dict(os.environ))


def test_the_first_mail_budget_reads_the_higher_of_the_wall_and_cpu_ratios() -> None:
    # On a loaded machine both sides wait for a core alike and the wall ratio tends to 1: the CPU
    # ratio must still count, or a busy run would pass the budget on waiting alone.
    sys.path.insert(0, str(BENCH))
    run = importlib.import_module("run")  # bench/run.py, which mypy does not check

    cold = run_section("cold_start.py", "--rounds", "1", "--first-message")
    cold["first_message_ratio_of_medians"], cold["first_message_cpu_ratio_of_medians"] = 1.0, 1.28
    assert run.first_mail_ratio(cold) == 1.28
    assert "1.00x wall, 1.28x CPU, budget 1.2x NOT met" in run.first_mail_summary(cold)
    cold["first_message_ratio_of_medians"], cold["first_message_cpu_ratio_of_medians"] = 1.1, 1.15
    assert "budget 1.2x met" in run.first_mail_summary(cold)
    assert {"first_message_ratio_to_validated_floor", "first_message_cpu_ratio_to_validated_floor"} <= set(cold)
    cold["first_message_ratio_to_validated_floor"], cold["first_message_cpu_ratio_to_validated_floor"] = 1.0, 1.25
    assert run.first_mail_ratio_to_validated_floor(cold) == 1.25


def test_storm_counts_alerts_covered_and_table_requests() -> None:
    result = run_section("storm.py", "--alerts", "8", "--instances", "2", "--delivery", "direct")
    [run] = result["runs"]
    assert (run["alerts_covered"], run["blocked"]) == (8, 0)
    assert run["table_requests_per_alert"] > 0 and run["cpu_ms_per_alert"] > 0


def test_send_methods_counts_graph_calls_per_method_and_a_large_upload() -> None:
    result = run_section("send_methods.py", "--messages", "2", "--attachment-mib", "4")
    sendmail, draft = result["methods"]
    assert sendmail["reference-1"]["graph_calls_per_message"] == 1
    assert draft["reference-1"]["graph_calls_per_message"] == 2  # the draft with its attachments, then /send
    large = result["large"]
    assert (large["mails_sent"], large["uploads"]) == (1, 2)  # 4 MiB in chunks of 3.75 MiB
    assert large["rss_peak_mib"] >= large["rss_before_mib"] > 0
