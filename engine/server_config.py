"""The HTTP service's limits, and the ``boardeval serve`` options that set them.

Importable without FastAPI, so the CLI can parse arguments before loading it.
"""

from __future__ import annotations

import argparse
import dataclasses


@dataclasses.dataclass(frozen=True, kw_only=True)
class ServerConfig:
    """Limits of the HTTP service."""

    host: str = "127.0.0.1"
    """Interface to bind; loopback unless told otherwise."""

    port: int = 8000

    cloud_eval_nodes: int = 800
    """Search visits behind each ``/api/cloud-eval`` answer."""

    max_nodes: int = 20_000
    """Most visits a request may ask for per position."""

    max_seconds: float = 10.0
    """Most seconds one position's search may run, whatever its node budget."""

    max_batch: int = 256
    """Most positions in one static ``/v1/evaluate`` request."""

    max_search_batch: int = 32
    """Most positions in one searched ``/v1/evaluate`` request."""

    max_multipv: int = 10

    max_in_flight: int = 64
    """Requests being worked on at once; more are answered 503."""

    search_threads: int = 8
    """Searches run concurrently (their leaves share network batches)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--weights", help="network directory or model.json (default: shipped)")
    parser.add_argument("--host", default=ServerConfig.host, help="interface (default loopback)")
    parser.add_argument("--port", type=int, default=ServerConfig.port)
    parser.add_argument(
        "--cloud-eval-nodes",
        type=int,
        default=ServerConfig.cloud_eval_nodes,
        help="search visits behind each cloud-eval answer",
    )
    parser.add_argument(
        "--max-nodes",
        type=int,
        default=ServerConfig.max_nodes,
        help="most visits a request may ask for per position",
    )
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=ServerConfig.max_seconds,
        help="most seconds one search may run",
    )
    parser.add_argument(
        "--max-batch",
        type=int,
        default=ServerConfig.max_batch,
        help="most positions in a static request",
    )
    parser.add_argument(
        "--max-in-flight",
        type=int,
        default=ServerConfig.max_in_flight,
        help="requests worked on at once; more get 503",
    )


def config_from_args(args: argparse.Namespace) -> ServerConfig:
    return ServerConfig(
        host=args.host,
        port=args.port,
        cloud_eval_nodes=args.cloud_eval_nodes,
        max_nodes=args.max_nodes,
        max_seconds=args.max_seconds,
        max_batch=args.max_batch,
        max_in_flight=args.max_in_flight,
    )
