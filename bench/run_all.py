"""Run every benchmark in turn (`make bench`); each prints its own figures and ratios.

Each benchmark builds its data in a fresh database of its own; run them on a quiet machine, the
figures in README.md were measured that way unless the README says otherwise.
"""

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = [
    ["import_roster.py", "--rows", "100000"],
    ["import_stations.py"],
    ["assign.py", "--national"],
    ["assign.py", "--cordoba"],
    ["sms.py"],
    ["texts_national.py"],
    ["threads.py"],
    ["credentials.py"],
    ["election_day.py"],
]


def main() -> int:
    failed = []
    for args in BENCHMARKS:
        print(f"\n=== bench/{' '.join(args)}", flush=True)
        started = time.perf_counter()
        result = subprocess.run([sys.executable, str(HERE / args[0]), *args[1:]], cwd=HERE.parent)
        print(f"=== bench/{args[0]} finished in {time.perf_counter() - started:.1f} s (exit {result.returncode})")
        if result.returncode:
            failed.append(" ".join(args))
    if failed:
        print("failed: " + "; ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
