"""Run a module under cProfile counting its main thread's CPU time, not wall time.

    python bench/cpuprofile.py OUT.prof -m bot serve

A wall-clock profile of a server on a busy machine charges a syscall with the time the process
waited to run again after it (a send that wakes Redis, a pipe write that wakes a worker): the
thread's CPU clock does not. The clock is read at every call and return, so absolute figures are
inflated (more for code making many small calls); the split between functions is what it is for.
bench_inbound.py uses it with BENCH_INBOUND_PROFILE=DIR and BENCH_INBOUND_PROFILE_CLOCK=cpu.
"""

from __future__ import annotations

import cProfile
import runpy
import sys
import time


def main() -> None:
    if len(sys.argv) < 4 or sys.argv[2] != "-m":
        raise SystemExit(__doc__)
    out, module = sys.argv[1], sys.argv[3]
    sys.argv = [module, *sys.argv[4:]]
    profile = cProfile.Profile(time.thread_time)
    profile.enable()
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    finally:
        profile.disable()
        profile.dump_stats(out)


if __name__ == "__main__":
    main()
