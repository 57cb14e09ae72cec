"""Serve Corkboard with Hypercorn, each worker on a listening socket of its own.

    python -m webapp.serve [-c hypercorn.toml] [--workers N] [--bind HOST:PORT]

Without --bind, HOST and PORT in the environment (either one) say where to listen, as for `make run`.

`hypercorn --workers N` opens one socket and shares it: whichever worker wakes first accepts
the whole burst of waiting connections. Keep-alive connections (nginx's upstream pool, a load
test) stay where they landed, so one worker can serve them all while the others idle. Here
every worker binds the address itself with SO_REUSEPORT (Hypercorn sets it when there are
several workers) and the kernel spreads new connections evenly over them.

With one worker this is plain `hypercorn -c hypercorn.toml webapp.asgi:app`.
"""
import argparse
import multiprocessing
import os
import signal
import sys
from multiprocessing.connection import wait

from hypercorn.asyncio.run import asyncio_worker
from hypercorn.config import Config
from hypercorn.run import run

APP = "webapp.asgi:app"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-c", "--config", help="a Hypercorn TOML file, e.g. hypercorn.toml")
    parser.add_argument("-w", "--workers", type=int, help="worker processes (the config's, else 1)")
    parser.add_argument("-b", "--bind", action="append", help="HOST:PORT (the config's, else 127.0.0.1:8000)")
    args = parser.parse_args(argv)

    config = Config.from_toml(args.config) if args.config else Config()
    config.application_path = APP
    if args.workers is not None:
        config.workers = args.workers
    if args.bind:
        config.bind = args.bind
    elif os.environ.get("HOST") or os.environ.get("PORT"):
        config.bind = [f"{os.environ.get('HOST') or '127.0.0.1'}:{os.environ.get('PORT') or '8000'}"]
    if config.workers <= 1:
        return run(config)
    return serve_workers(config)


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
