"""Serve Corkboard with Hypercorn, each worker on a listening socket of its own.

    python -m webapp.serve [-c hypercorn.toml] [--workers N] [--bind HOST:PORT] [--reload]

Without --bind, HOST and PORT in the environment (either one) say where to listen, as for `make run`.

`hypercorn --workers N` opens one socket and shares it: whichever worker wakes first accepts
the whole burst of waiting connections. Keep-alive connections (nginx's upstream pool, a load
test) stay where they landed, so one worker can serve them all while the others idle. Here
every worker binds the address itself with SO_REUSEPORT (Hypercorn sets it when there are
several workers) and the kernel spreads new connections evenly over them.

With one worker this is plain `hypercorn -c hypercorn.toml webapp.asgi:app`. `--reload` (`make
dev`) restarts the worker when one of Corkboard's .py files changes, as `hypercorn --reload` does,
but a worker that cannot start (a syntax error just saved) waits for the next change instead of
ending the server.
"""
import argparse
import multiprocessing
import os
import signal
import sys
from multiprocessing.connection import wait
from pathlib import Path

from hypercorn.asyncio.run import asyncio_worker
from hypercorn.config import Config
from hypercorn.run import run

APP = "webapp.asgi:app"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-c", "--config", help="a Hypercorn TOML file, e.g. hypercorn.toml")
    parser.add_argument("-w", "--workers", type=int, help="worker processes (the config's, else 1)")
    parser.add_argument("-b", "--bind", action="append", help="HOST:PORT (the config's, else 127.0.0.1:8000)")
    parser.add_argument("--reload", action="store_true", help="one worker, restarted when a .py file changes")
    args = parser.parse_args(argv)

    config = Config.from_toml(args.config) if args.config else Config()
    config.application_path = APP
    if args.workers is not None:
        config.workers = args.workers
    if args.bind:
        config.bind = args.bind
    elif os.environ.get("HOST") or os.environ.get("PORT"):
        config.bind = [f"{os.environ.get('HOST') or '127.0.0.1'}:{os.environ.get('PORT') or '8000'}"]
    if args.reload:
        return serve_reloading(config)
    if config.workers <= 1:
        return run(config)
    return serve_workers(config)


def serve_reloading(config: Config) -> int:
    """One worker, started afresh (a new process, every module imported anew) when one of
    Corkboard's .py files changes; one that fails to start waits for the next change."""
    context = multiprocessing.get_context("spawn")
    stopping = []  # a signal came: a flag, as a handler that takes a lock could wait for itself
    for signal_name in ("SIGINT", "SIGTERM"):
        signal.signal(getattr(signal, signal_name), lambda *_: stopping.append(True))
    while not stopping:
        files = corkboard_modules()
        stop = context.Event()
        worker = context.Process(target=run_worker, args=(config, stop))
        worker.start()
        told = False
        while not stopping and corkboard_modules() == files:
            worker.join(1)
            if worker.exitcode is not None and not told:
                told = True
                print("The worker stopped (see above): it starts again when a .py file changes",
                      file=sys.stderr, flush=True)
        stop.set()
        worker.join(config.graceful_timeout + 5)
        if worker.exitcode is None:
            worker.terminate()
            worker.join()
    return 0


def corkboard_modules() -> dict:
    """Corkboard's Python files and when each last changed (templates are read afresh anyway)."""
    modules = {}
    for path in Path(__file__).parent.rglob("*.py"):
        try:
            modules[path] = path.stat().st_mtime
        except OSError:  # removed meanwhile
            pass
    return modules


def serve_workers(config: Config) -> int:
    """Start the workers; stop them all on SIGINT or SIGTERM, or when one of them dies."""
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    workers = [context.Process(target=run_worker, args=(config, stop)) for _ in range(config.workers)]
    for signal_name in ("SIGINT", "SIGTERM"):
        signal.signal(getattr(signal, signal_name), lambda *_: stop.set())
    for worker in workers:
        worker.start()
    wait([worker.sentinel for worker in workers])  # a signal, or a worker that died
    stop.set()
    for worker in workers:
        worker.join(config.graceful_timeout + 5)
        if worker.exitcode is None:
            worker.terminate()
            worker.join()
    return max((worker.exitcode or 0 for worker in workers), default=0)


def run_worker(config: Config, stop) -> None:
    """One worker. It leaves signals to the supervisor, which stops every worker gracefully
    (a signal to the whole process group would otherwise end it mid-request)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    asyncio_worker(config, shutdown_event=stop)


if __name__ == "__main__":
    sys.exit(main())
