"""Calibration's matrix products on one BLAS thread, unless the environment says how many.

A search makes many small matrix products (`grid`, the three-tier sums), which more
BLAS threads do not speed up: a guarded calibrate of the bundled OVERRULING outcomes
took 27.3 s on one thread and 26-27 s on two on an idle 2-core machine, but 27.7 s
against 66.9 s on a busy one, where OpenBLAS's second thread spins waiting for a core.
The policies are the same bit for bit whatever the count.

The ``costrouter`` command sets ``OPENBLAS_NUM_THREADS`` before numpy loads
(`langchain_costrouter.cli`); code that calls `calibrate` itself (a notebook, a job) has
usually loaded numpy long before, with a thread per core. So the search limits the BLAS
libraries already loaded for its own duration (threadpoolctl) and gives the count back
after. A thread count set in the environment is the user's choice and is kept.
"""

from __future__ import annotations

import os
from contextlib import AbstractContextManager, nullcontext

from threadpoolctl import threadpool_limits

THREAD_COUNT_VARIABLES = (
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OMP_NUM_THREADS",
    "BLIS_NUM_THREADS",
)
"""Environment variables that set a BLAS library's thread count: any of them set, the
search leaves the count as it is."""


def one_blas_thread() -> AbstractContextManager[object]:
    """Run the block with the loaded BLAS libraries on one thread, unless the environment
    sets a thread count."""
    if any(name in os.environ for name in THREAD_COUNT_VARIABLES):
        return nullcontext()
    limits: AbstractContextManager[object] = threadpool_limits(limits=1, user_api="blas")
    return limits
