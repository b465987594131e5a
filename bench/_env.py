"""Benchmark environment: thread counts and the BLAS kernel, fixed before numpy loads.

OpenBLAS picks its kernel from the CPU model; on AMD Zen 4 (AVX-512) it falls back to
the Haswell (AVX2) kernel, which runs sgemm at about half speed (measured here: 147 vs
252-373 GFLOP/s on the GEMM shapes Conv2D uses). PyTorch's oneDNN detects AVX-512 by
itself, so a fair race gives numpy the kernel the CPU supports.
"""

from __future__ import annotations

import os


def cpu_flags() -> set[str]:
    """The CPU's feature flags from /proc/cpuinfo (empty where unavailable)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


AVX2_KERNELS = ("", "haswell", "zen")


def configure(threads: int, keep_blas: bool = False) -> list[str]:
    """Set thread counts and the OpenBLAS kernel; call before importing numpy or torch.

    Args:
        threads: thread count for BLAS and torch.
        keep_blas: leave ``OPENBLAS_CORETYPE`` as the environment has it.

    Returns:
        Lines describing what was set, for the benchmark's header.
    """
    notes = []
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    notes.append(f"threads: {threads} (numpy BLAS and torch)")
    current = os.environ.get("OPENBLAS_CORETYPE", "")
    if keep_blas or "avx512f" not in cpu_flags() or current.lower() not in AVX2_KERNELS:
        notes.append(f"OpenBLAS kernel: {current or 'auto-detected'}")
        return notes
    os.environ["OPENBLAS_CORETYPE"] = "SkylakeX"
    was = f"was {current}" if current else "auto-detection picks Haswell on AMD"
    notes.append(f"OpenBLAS kernel: SkylakeX, the CPU has AVX-512 ({was}; --keep-blas-env keeps it)")
    return notes
