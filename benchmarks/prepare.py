"""Scale benchmark of ``gru4rec-study prepare``: synthetic clicks in the raw yoochoose format.

Generates the raw file first (not timed), then runs ``prepare yoochoose`` in a child process
and prints its wall time, CPU time and peak memory (the child's maximum resident set size),
with the machine's load average before and after.

    PYTHONPATH=src python benchmarks/prepare.py --sessions 7500000 --items 200000
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gru4rec_study.data.synthetic import write_yoochoose_clicks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=7_500_000, help="about 4 events each")
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--days", type=float, default=30.0)
    parser.add_argument("--workdir", type=Path, help="keep the files here (default: temporary)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        work = args.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        raw = work / "yoochoose-clicks.dat"
        started = time.perf_counter()
        n_events = write_yoochoose_clicks(raw, args.sessions, args.items, n_days=args.days)
        print(
            f"generated {n_events} events ({raw.stat().st_size / 1e9:.2f} GB) in"
            f" {time.perf_counter() - started:.0f} s (not timed below)"
        )

        load_before = os.getloadavg()[0]
        command = [
            sys.executable,
            "-m",
            "gru4rec_study.cli",
            "-q",
            "prepare",
            "yoochoose",
            str(raw),
            "--out",
            str(work / "prepared"),
        ]
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - started
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        print(
            f"prepare: {n_events} events, {wall:.1f} s wall,"
            f" {usage.ru_utime + usage.ru_stime:.1f} s CPU,"
            f" peak {usage.ru_maxrss / 1024**2:.2f} GB (maxrss),"
            f" load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after,"
            f" {os.cpu_count()} CPUs"
        )


if __name__ == "__main__":
    main()
