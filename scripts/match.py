"""Thin wrapper: ``python scripts/match.py FIRST SECOND ...`` is ``boardeval match``."""

import sys

from engine.cli import main

if __name__ == "__main__":
    sys.exit(main(["match", *sys.argv[1:]]))
