"""Benchmarks (issue #7): not part of the test run.

`python -m bench` runs every section and rewrites BENCHMARKS.md; each section
also runs alone (`python -m bench.queries`, ...). `--smoke` runs everything
tiny and fast. Generated data is cached under bench/.cache (gitignored).
"""
