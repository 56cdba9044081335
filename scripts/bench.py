"""Thin wrapper: ``python scripts/bench.py TARGET`` is ``boardeval bench TARGET``."""

import sys

from engine.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
