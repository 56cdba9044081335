"""Thin wrapper: ``python scripts/train.py --data DIR --out RUN`` is ``boardeval train``."""

import sys

from engine.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
