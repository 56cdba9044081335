"""Runs the strength ladder of docs/STRENGTH.md and plots it.

``python scripts/strength.py --engine boardeval[:RUN_DIR] --openings 10 --tc 2+0.05``
plays the engine against the material-greedy player and Stockfish 15.1 levels, prints
one JSON line per opponent and saves ``docs/strength.png``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

OPPONENTS = ("greedy", "stockfish:skill=0", "stockfish:elo=1350", "stockfish:elo=1600")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--engine", default="boardeval")
    parser.add_argument("--openings", type=int, default=10)
    parser.add_argument("--tc", default="2+0.05")
    parser.add_argument("--plot", type=Path, default=Path("docs/strength.png"))
    args = parser.parse_args(argv)

    from dataset.bench import DATA
    from engine.match import TimeControl, json_number, load_openings, make_player, run_match

    openings = load_openings(DATA / "books" / "noob_3moves.epd.zip", args.openings)
    rows = []
    for opponent in OPPONENTS:
        first, second = make_player(args.engine), make_player(opponent, seed=1)
        try:
            result = run_match(first, second, openings, time_control=TimeControl.parse(args.tc))
        finally:
            first.close()
            second.close()
        elo, low, high = result.elo()
        row = {"opponent": opponent, "wins": result.wins, "draws": result.draws,
               "losses": result.losses, "score": round(result.score, 3), "elo": elo,
               "low": low, "high": high}  # fmt: skip
        rows.append(row)
        shown = {k: json_number(v) if isinstance(v, float) else v for k, v in row.items()}
        print(json.dumps(shown), flush=True)
    _plot(rows, args.plot, f"{args.engine} at {args.tc}, {2 * args.openings} games each")
    return 0


def _plot(rows: list[dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    clip = 800.0
    names = [row["opponent"] for row in rows]
    elo = [max(min(row["elo"], clip), -clip) for row in rows]
    low = [max(min(row["low"], clip), -clip) for row in rows]
    high = [max(min(row["high"], clip), -clip) for row in rows]
    figure, axis = plt.subplots(figsize=(7, 4))
    axis.errorbar(range(len(rows)), elo,
                  yerr=[[e - lo for e, lo in zip(elo, low, strict=True)],
                        [hi - e for e, hi in zip(elo, high, strict=True)]],
                  marker="o", capsize=4, linestyle="none")  # fmt: skip
    axis.axhline(0, color="grey", linewidth=1)
    axis.set_xticks(range(len(rows)), names, rotation=15)
    axis.set_ylabel(f"Elo difference (clipped at ±{clip:.0f})")
    axis.set_title(title)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


if __name__ == "__main__":
    sys.exit(main())
