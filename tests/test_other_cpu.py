"""The chapters' stored outputs also hold on a CPU with other floating-point kernels.

A reader's machine is not ours. Where the CPU has other vector units, XLA compiles other
kernels and OpenBLAS picks another code path, so sums are rounded in another order. The
main nbval run (the README's test command) checks the stored outputs on this machine;
this test re-runs nbval once more with

* XLA limited to AVX2 (``--xla_cpu_max_isa=AVX2``: no AVX-512, as on many laptops and
  older servers) and single-threaded Eigen,
* OpenBLAS forced to its Haswell kernels on one thread (NumPy's linear algebra),

so that an output that prints digits at the level of rounding fails here, on our own
machine, before it fails on a reader's. Measured on 2026-11-30 on an AMD EPYC with
AVX-512, before chapter 1 printed "< 1e-12": this configuration moved exactly one stored
output, chapter 1's relative distance 8.1e-15 (1.3e-15 here); a third configuration
(SSE4.2, Nehalem kernels) moved the same one and nothing else (1.8e-15).
"""
import os
import platform
import subprocess
import sys

import pytest

from conftest import ROOT

pytestmark = pytest.mark.slow

OTHER_CPU = {
    "XLA_FLAGS": "--xla_cpu_max_isa=AVX2 --xla_cpu_multi_thread_eigen=false "
                 "intra_op_parallelism_threads=1",
    "OPENBLAS_CORETYPE": "Haswell",
    "OPENBLAS_NUM_THREADS": "1",
}


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"),
                    reason="the ISA and OpenBLAS core names are x86 ones")
def test_chapters_pass_nbval_with_other_floating_point_kernels():
    env = {**os.environ, **OTHER_CPU}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "book", "--nbval", "--nbval-current-env",
         "--nbval-sanitize-with", "tests/nbval_sanitize.cfg", "-p", "no:cacheprovider",
         "-q", "--tb=short"],
        cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.returncode == 0, (
        "a stored output changes under other floating-point kernels "
        f"({OTHER_CPU}); print it as errors.format_error(...) or a tolerance check:\n"
        + proc.stdout[-6000:])
