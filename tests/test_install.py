"""The quick start on a fresh virtual environment: the shipped network travels with the package."""

from __future__ import annotations

import json
import subprocess
import venv
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_pip_install_then_eval_startpos_from_elsewhere(tmp_path) -> None:
    # The dependencies come from this interpreter's site-packages (the package registry
    # is not needed for them); boardeval itself is built from the checkout and installed
    # as a wheel, even where this interpreter has it installed in editable mode.
    environment = tmp_path / "venv"
    venv.EnvBuilder(system_site_packages=True, with_pip=True).create(environment)
    python = environment / "bin" / "python"
    install = ["install", "--quiet", "--no-build-isolation", "--no-deps", "--force-reinstall"]
    subprocess.run([python, "-m", "pip", *install, str(CHECKOUT)], check=True, cwd=tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = subprocess.run([python, "-c", "import engine.network_files as n; "
                            "print(n.default_network())"], check=True, cwd=elsewhere,
                           capture_output=True, text=True).stdout.strip()  # fmt: skip
    assert where.startswith(str(environment)), where  # the installed copy, not the checkout
    result = subprocess.run([environment / "bin" / "boardeval", "eval", "startpos", "--json"],
                            check=True, cwd=elsewhere, capture_output=True, text=True)  # fmt: skip
    evaluation = json.loads(result.stdout)
    assert evaluation["fen"] == "rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1"
    assert abs(evaluation["cp"]) < 150 and evaluation["mate"] is None
    assert sum(evaluation["wdl"]) == 1000
