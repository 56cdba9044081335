"""The HTTP service: ``boardeval serve`` (FastAPI + uvicorn).

- ``GET /api/cloud-eval?fen=…&multiPv=…`` answers in lichess's cloud-eval shape, so
  clients written for lichess work unchanged: cp and mate from White's view, ``moves``
  a space-separated UCI line.
- ``POST /v1/evaluate``: a batch of positions, static or searched with a node budget.
- ``GET /healthz``; OpenAPI docs at ``/docs``.

Endpoints are synchronous and run in uvicorn's thread pool; every request goes
through one shared :class:`~engine.api.Engine`, so concurrent requests share network
batches. Work beyond ``max_in_flight`` requests is refused with 503 at once rather
than queued without bound.
"""

from __future__ import annotations

import argparse
import concurrent.futures
from typing import Any

import chess

from engine.api import Analysis, Engine
from engine.positions import PositionError, parse_position
from engine.server_config import ServerConfig, config_from_args

try:
    from fastapi import FastAPI, HTTPException, Query, Request
    from fastapi.responses import JSONResponse
    from pydantic import BaseModel, Field
except ImportError as error:  # pragma: no cover - the dependency is declared
    raise ImportError("boardeval serve needs fastapi and uvicorn: pip install boardeval") from error


# --- schema ---------------------------------------------------------------------------


class PositionIn(BaseModel):
    fen: str = Field("startpos", description="a FEN or `startpos`")
    moves: list[str] = Field(default_factory=list, description="UCI or SAN moves from `fen`")


class EvaluateRequest(BaseModel):
    positions: list[str | PositionIn] = Field(
        description="FENs (optionally `… moves e2e4 …`) or {fen, moves} objects"
    )
    nodes: int | None = Field(
        None, ge=1, description="search visits per position; static evaluation if absent"
    )
    multipv: int = Field(1, ge=1, description="lines per position when searching")


class Line(BaseModel):
    moves: list[str]
    cp: int | None = Field(description="centipawns, White's view")
    mate: int | None = Field(description="moves to mate, White's view (+: White mates)")
    value: float = Field(description="in [-1, 1], side to move")
    wdl: list[int] = Field(description="win/draw/loss per mille, side to move")
    visits: int


class EvaluationOut(BaseModel):
    fen: str
    cp: int | None = Field(description="centipawns, White's view; null when mated or mate found")
    mate: int | None = Field(description="White's view; 0 when the side to move is mated")
    value: float = Field(description="in [-1, 1], side to move")
    wdl: list[int] = Field(description="win/draw/loss per mille, side to move")
    best_move: str | None = None
    nodes: int = 0
    lines: list[Line] = Field(default_factory=list, description="search lines, best first")


class EvaluateResponse(BaseModel):
    results: list[EvaluationOut]


class CloudPv(BaseModel):
    moves: str
    cp: int | None = None
    mate: int | None = None


class CloudEval(BaseModel):
    fen: str
    knodes: int
    depth: int
    pvs: list[CloudPv]


class Health(BaseModel):
    status: str
    network: str
    policy_head: bool
    in_flight: int
    max_in_flight: int


# --- the application ------------------------------------------------------------------


def create_app(engine: Engine, config: ServerConfig | None = None) -> FastAPI:
    config = config or ServerConfig()
    app = FastAPI(
        title="boardeval",
        summary="Chess position evaluation by a residual CNN with Monte Carlo tree search.",
    )
    in_flight = 0

    @app.middleware("http")
    async def admit(request: Request, call_next):  # type: ignore[no-untyped-def]
        # Counted on the event loop, before a worker thread is taken: requests waiting
        # for one of the thread pool's 40 threads are in flight too, so the limit holds
        # whatever its size, and the queue behind it stays bounded.
        nonlocal in_flight
        if request.url.path not in _WORK_PATHS:
            return await call_next(request)
        if in_flight >= config.max_in_flight:
            return JSONResponse(
                {"detail": "server busy: too many requests in flight; retry later"},
                status_code=503,
                headers={"Retry-After": "1"},
            )
        in_flight += 1
        try:
            return await call_next(request)
        finally:
            in_flight -= 1

    searches = concurrent.futures.ThreadPoolExecutor(config.search_threads, "boardeval-search")

    @app.exception_handler(PositionError)
    def bad_position(_: Request, error: PositionError) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=400)

    def analyse(position: Any, nodes: int, multipv: int) -> Analysis:
        return engine.analyse(position, nodes=nodes, time=config.max_seconds, multipv=multipv)

    def search(board: chess.Board, nodes: int, multipv: int) -> EvaluationOut:
        analysis = analyse(board, nodes, multipv)
        if not analysis.lines:  # the game is over: the rules' verdict, no move
            return EvaluationOut(**engine.evaluate_boards([board])[0].as_dict())
        best = analysis.lines[0]
        return EvaluationOut(
            fen=analysis.fen,
            cp=best.cp,
            mate=best.mate,
            value=best.value,
            wdl=list(best.wdl),
            best_move=best.moves[0],
            nodes=analysis.nodes,
            lines=[Line(**line.as_dict()) for line in analysis.lines],
        )

    @app.get("/healthz")
    async def healthz() -> Health:  # on the event loop: it answers while workers are busy
        return Health(
            status="ok",
            network=engine.name,
            policy_head=engine.has_policy,
            in_flight=in_flight,
            max_in_flight=config.max_in_flight,
        )

    @app.get("/api/cloud-eval", response_model_exclude_none=True)
    def cloud_eval(
        fen: str = Query(description="the position, as lichess sends it"),
        multiPv: int = Query(1, ge=1, description="lines wanted"),  # noqa: N803 - lichess's name
    ) -> CloudEval:
        if multiPv > config.max_multipv:
            raise HTTPException(400, f"multiPv is at most {config.max_multipv}")
        analysis = analyse(fen, config.cloud_eval_nodes, multiPv)
        if not analysis.lines:
            raise HTTPException(404, "no legal moves: nothing to evaluate")
        pvs = [
            CloudPv(moves=" ".join(line.moves), cp=line.cp, mate=line.mate)
            for line in analysis.lines
        ]
        return CloudEval(
            fen=analysis.fen, knodes=round(analysis.nodes / 1000), depth=analysis.depth, pvs=pvs
        )

    @app.post("/v1/evaluate")
    def evaluate(request: EvaluateRequest) -> EvaluateResponse:
        searching = request.nodes is not None
        limit = config.max_search_batch if searching else config.max_batch
        if len(request.positions) > limit:
            kind = "searched" if searching else "static"
            raise HTTPException(
                413, f"{len(request.positions)} positions; at most {limit} per {kind} request"
            )
        if searching and request.nodes > config.max_nodes:  # type: ignore[operator]
            raise HTTPException(400, f"nodes is at most {config.max_nodes}")
        if request.multipv > config.max_multipv:
            raise HTTPException(400, f"multipv is at most {config.max_multipv}")
        positions = [_position_text(position) for position in request.positions]
        boards = []
        for index, position in enumerate(positions):  # all checked before any work
            try:
                boards.append(parse_position(position))
            except PositionError as error:
                raise PositionError(f"position {index}: {error}") from None
        if not searching:
            evaluations = engine.evaluate_boards(boards)
            results = [EvaluationOut(**evaluation.as_dict()) for evaluation in evaluations]
        else:
            futures = [
                searches.submit(search, board, request.nodes, request.multipv) for board in boards
            ]
            results = [future.result() for future in futures]
        return EvaluateResponse(results=results)

    app.state.engine = engine
    app.state.config = config
    return app


_WORK_PATHS = frozenset({"/api/cloud-eval", "/v1/evaluate"})
"""The endpoints that evaluate or search, and so count against ``max_in_flight``."""


def _position_text(position: str | PositionIn) -> str:
    if isinstance(position, str):
        return position
    return f"{position.fen} moves {' '.join(position.moves)}" if position.moves else position.fen


# --- command line -----------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from engine.api import load

    config = config_from_args(args)
    app = create_app(load(args.weights), config)
    uvicorn.run(app, host=config.host, port=config.port, log_level="info")
    return 0
