"""bench/gpu.py: its targets and table from given timings, and its refusal on a machine without a GPU."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench.gpu import Row, format_rows, verdict

ROOT = Path(__file__).resolve().parents[2]
WIDE = "(64, 16, 16, 64) f64 k3 s1 same"


def test_both_targets_met():
    rows = [Row("(64, 28, 28, 1) f32 k3 s1 same", 0.002, 0.010, 0.001, False),
            Row(WIDE, 0.003, 0.060, 0.0015, True)]
    lines, missed = verdict(rows)
    assert not missed
    assert lines == ["RESULT worst CuPy/torch fwd+bwd 2.00x (target <= 3x): met",
                     f"RESULT {WIDE}: CuPy 20.0x faster than numpy (target >= 10x): met"]


def test_each_target_missed_alone_is_a_miss():
    slow_vs_torch = [Row(WIDE, 0.004, 0.400, 0.001, True)]
    assert verdict(slow_vs_torch)[1] and "4.00x (target <= 3x): MISSED" in verdict(slow_vs_torch)[0][0]
    slow_vs_numpy = [Row(WIDE, 0.010, 0.050, 0.010, True)]
    lines, missed = verdict(slow_vs_numpy)
    assert missed and lines[1].endswith("CuPy 5.0x faster than numpy (target >= 10x): MISSED")


def test_without_torch_the_torch_target_is_not_measured_and_its_column_is_a_dash():
    rows = [Row(WIDE, 0.002, 0.040, None, True)]
    lines, missed = verdict(rows)
    assert not missed and lines[0] == "RESULT CuPy/torch fwd+bwd: not measured (no CUDA PyTorch)"
    table = format_rows(rows).splitlines()
    assert table[1].split()[-5:] == ["2.00", "-", "40.00", "-", "20.0"]


def test_on_a_machine_without_a_gpu_it_exits_2_and_says_why():
    done = subprocess.run([sys.executable, "bench/gpu.py"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "bench/gpu.py: no GPU here (CuPy is not installed or sees no CUDA device)" in done.stderr
