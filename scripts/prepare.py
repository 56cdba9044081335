"""Thin wrapper: ``python scripts/prepare.py IN... --out DIR`` is ``boardeval prepare``."""

import sys

from engine.cli import main

if __name__ == "__main__":
    sys.exit(main(["prepare", *sys.argv[1:]]))
