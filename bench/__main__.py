"""Run every section, then rewrite BENCHMARKS.md from bench/results/*.json.

.venv/bin/python -m bench            # every section (long: ~25-30 min on 2 cores)
.venv/bin/python -m bench --smoke    # every section tiny (< 1 min); BENCHMARKS.md untouched
.venv/bin/python -m bench --report   # only rewrite BENCHMARKS.md from the saved results
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from bench.common import PYTHON, ROOT
from bench.report import write_report

# the order of the priorities: in-process first, then end to end
SECTIONS = ("queries", "imports", "memory", "startup", "throughput", "broadcast")


def main() -> int:
    parser = argparse.ArgumentParser(description="run every benchmark section")
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--report", action="store_true", help="only rewrite BENCHMARKS.md")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--note", default="", help="a line about the run, under the intro")
    args = parser.parse_args()
    if not args.report:
        for section in args.only:
            started = time.perf_counter()
            argv = [PYTHON, "-m", f"bench.{section}"] + (["--smoke"] if args.smoke else [])
            print(f"== {section}: {' '.join(argv[1:])}", flush=True)
            subprocess.run(argv, cwd=ROOT, check=True)
            print(f"== {section}: {time.perf_counter() - started:.1f} s", flush=True)
    if not args.smoke:
        print(write_report(args.note))
    return 0


if __name__ == "__main__":
    sys.exit(main())
