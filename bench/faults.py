#!/usr/bin/env python3
"""Live updates under faults: Redis killed and frozen under a write load, then the app restarted.

    cd /work/main && .venv/bin/python bench/faults.py [--threads 4] [--phase 3]

All on 127.0.0.1, in a throw-away temp dir, and it stops by itself (every phase is bounded):
  1. migrates a fresh SQLite database and seeds one user with a board (tests/conftest.py);
  2. starts a Redis of its own on a spare port (no persistence) and the app the README's way,
     `python -m webapp.serve --workers 1`, with REDIS_URL pointing at that Redis;
  3. runs --threads writers (each its own logged-in session) making card creates (each with a
     unique title) and card moves, for 5 phases of --phase seconds: healthy, Redis killed,
     Redis back (empty: a Redis restart), Redis frozen (SIGSTOP: it accepts, never answers),
     Redis thawed;
  4. checks the database: `acked` = writes answered 2xx; `lost` = acknowledged creates whose card
     is not in the database; `false_errors` = writes answered with an error although the change
     was saved (creates: checked in the database; moves: every 5xx counts, since a move that
     fails before committing answers 4xx); `max_publish_block_ms` = the longest a request spent
     publishing its change, as the worker reports it (GET /healthz/live);
  5. `stale_after_restart`: a page that saw an event keeps its Last-Event-ID while (a) Redis
     restarts, (b) the app restarts; it reconnects with that id, then 5 edits are made: every
     edit that does not reach it (ids restarting from 1 were ignored) counts. After (a) it must
     also be told to reload its board (what changed meanwhile is not in the new log), or that
     counts one more; after (b) Redis still holds the log, so it just continues;
  6. `rss_peak_mb_100x15mb`: bench/body_memory.py's rss_peak_mb() against the restarted app's
     worker (100 anonymous 15 MiB posts; "na" if that script is missing).

The last line is machine-readable:
  faults acked=<n> lost=<n> false_errors=<n> max_publish_block_ms=<n> stale_after_restart=<n> rss_peak_mb_100x15mb=<n>
Targets: lost=0, false_errors=0, max_publish_block_ms <= 50, stale_after_restart=0,
rss_peak_mb_100x15mb <= 400.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.servers import EventStream, HttpUser, free_port, stream_path  # noqa: E402

EMAIL, PASSWORD = "faults@example.com", "password123"
SECRET_KEY = "bench-faults"
EDITS = 5  # per restart, in the stale check


class Redis:
    """redis-server on a spare port, no persistence: killed, it forgets everything."""

    def __init__(self, folder: Path):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.folder = folder
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        import redis
        self.process = subprocess.Popen(
            [shutil.which("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(redis.RedisError):
                if redis.Redis.from_url(self.url, socket_timeout=0.5).ping():
                    return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(5)

    def freeze(self) -> None:
        os.kill(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.thaw()
            self.kill()


class App:
    """`python -m webapp.serve --workers 1` in its own process group."""

    def __init__(self, env: dict, port: int, log_path: Path):
        self.env, self.port, self.log_path = env, port, log_path
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "webapp.serve", "--workers", "1", "--bind", f"127.0.0.1:{self.port}"],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the app exited:\n{self.log_path.read_text()[-3000:]}")
            with contextlib.suppress(OSError):
                urllib.request.urlopen(self.url + "/healthz", timeout=1).read()
                return
            time.sleep(0.1)
        raise RuntimeError("the app did not answer /healthz")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)

    def worker_pid(self) -> int:
        """The process that serves (webapp.serve's one worker, a child of the supervisor)."""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
            if children:
                return int(children[-1])
            time.sleep(0.05)
        return self.process.pid

    def live_status(self) -> dict:
        try:
            with urllib.request.urlopen(self.url + "/healthz/live", timeout=2) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            with contextlib.suppress(ValueError):
                return json.loads(error.read())
            return {}
        except OSError:
            return {}

    def wait_live(self, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while not self.live_status().get("connected") and time.monotonic() < deadline:
            time.sleep(0.05)


def seed(database_url: str) -> tuple[int, dict, list[int]]:
    from flask_migrate import upgrade

    from tests.conftest import make_board, make_user
    from webapp import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": SECRET_KEY})
    with app.app_context(), contextlib.redirect_stderr(io.StringIO()):
        upgrade()
        board = make_board(make_user("Fault Bench", EMAIL), "Faults", columns={
            "To do": [f"Card {n}" for n in range(10)], "Done": []})
        return (board.id, {column.title: column.id for column in board.columns},
                [card.id for column in board.columns for card in column.cards])


class Writer(threading.Thread):
    """One browser making changes as fast as it is answered."""

    def __init__(self, number: int, user: HttpUser, board_id: int, columns: dict, cards: list[int], stop):
        super().__init__(daemon=True)
        self.number, self.user, self.board_id, self.columns, self.cards, self.stop = \
            number, user, board_id, columns, cards, stop
        self.results: list[tuple[str, str, int | None]] = []  # (kind, title or card, status: None = no answer)

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            if n % 3:
                title = f"w{self.number}-{n}"
                path, data, kind = (f"/boards/{self.board_id}/columns/{self.columns['To do']}/cards",
                                    {"title": title}, "create")
            else:
                card = self.cards[(n + self.number) % len(self.cards)]
                title = str(card)
                column = self.columns["Done" if n % 2 else "To do"]
                path, data, kind = f"/boards/{self.board_id}/cards/{card}/move", \
                    {"column_id": column, "position": 0}, "move"
            try:
                status, _ = self.user.hx("PATCH" if kind == "move" else "POST", path, data)
            except OSError:
                status = None
            self.results.append((kind, title, status))


def stale_check(app: App, user: HttpUser, board_id: int, card_id: int, restart, label: str,
                expect_reload: bool) -> int:
    """Edits (of EDITS) that a page holding its pre-restart Last-Event-ID never receives, plus one
    if it was not told to reload its board when it had to (the log it continued from is gone)."""
    user.board_page(board_id)
    stream = EventStream(app.url, stream_path(user.board_page(board_id)))
    try:
        stream.frame_named("presence")
        user.hx("PUT", f"/boards/{board_id}/cards/{card_id}", {"title": f"{label} before"})
        last_id = stream.frame_named("board")["id"]
    finally:
        stream.close()
    restart()
    page = user.board_page(board_id)
    stream = EventStream(app.url, stream_path(page), {"Last-Event-ID": last_id})
    received, caught_up = 0, False
    try:
        stream.connection.sock.settimeout(3)
        for n in range(EDITS):
            user.hx("PUT", f"/boards/{board_id}/cards/{card_id}", {"title": f"{label} edit {n}"})
            try:
                while True:
                    frame = stream.frame()
                    if frame.get("event") == "refresh":
                        caught_up = True
                    if frame.get("event") == "board" and f"{label} edit {n}<" in frame.get("data", ""):
                        received += 1
                        break
            except OSError:  # timed out: this edit never reached the page
                stream.close()
                stream = EventStream(app.url, stream_path(user.board_page(board_id)), {"Last-Event-ID": last_id})
                stream.connection.sock.settimeout(3)
    finally:
        stream.close()
    print(f"stale   : after {label}: {received}/{EDITS} edits reached the page that reconnected with its old id; "
          f"told to reload its board: {'yes' if caught_up else 'no'} (needed: {'yes' if expect_reload else 'no'})")
    return EDITS - received + (1 if expect_reload and not caught_up else 0)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--phase", type=float, default=3.0, help="seconds per phase (5 phases)")
    args = parser.parse_args(argv)
    if not shutil.which("redis-server"):
        print("faults: redis-server is not installed", file=sys.stderr)
        return 1

    with tempfile.TemporaryDirectory(prefix="faults-") as folder:
        folder = Path(folder)
        database = f"sqlite:///{folder / 'faults.db'}"
        board_id, columns, cards = seed(database)
        redis = Redis(folder)
        redis.start()
        env = {**os.environ, "DATABASE_URL": database, "SECRET_KEY": SECRET_KEY, "REDIS_URL": redis.url,
               "REDIS_PREFIX": "faults", "RATELIMIT_ENABLED": "false", "FLASK_DEBUG": ""}
        app = App(env, free_port(), folder / "app.log")
        try:
            app.start()
            app.wait_live()
            users = [HttpUser(app.url).login(EMAIL, PASSWORD) for _ in range(args.threads)]
            for user in users:
                user.board_page(board_id)

            stop = threading.Event()
            writers = [Writer(n, user, board_id, columns, cards, stop) for n, user in enumerate(users)]
            for writer in writers:
                writer.start()
            for label, fault in [("healthy", None), ("Redis killed", redis.kill), ("Redis restarted", redis.start),
                                 ("Redis frozen", redis.freeze), ("Redis thawed", redis.thaw)]:
                if fault:
                    fault()
                time.sleep(args.phase)
                print(f"phase   : {label:16} writes so far {sum(len(w.results) for w in writers)}, "
                      f"live status {app.live_status()}")
            stop.set()
            for writer in writers:
                writer.join(30)
            max_publish_ms = app.live_status().get("publish_max_ms", float("nan"))

            with sqlite3.connect(folder / "faults.db") as connection:
                titles = {row[0] for row in connection.execute("SELECT title FROM cards")}
            results = [result for writer in writers for result in writer.results]
            ok = [r for r in results if r[2] is not None and 200 <= r[2] < 300]
            acked = len(ok)
            lost = sum(1 for kind, title, _ in ok if kind == "create" and title not in titles)
            false_errors = sum(1 for kind, title, status in results
                               if (status is None or status >= 300)
                               and ((kind == "create" and title in titles) or (kind == "move" and (status or 500) >= 500)))
            statuses: dict = {}
            for _, _, status in results:
                statuses[status] = statuses.get(status, 0) + 1
            print(f"writes  : {len(results)} by {args.threads} threads, statuses "
                  + ", ".join(f"{s}: {c}" for s, c in sorted(statuses.items(), key=lambda i: str(i[0]))))

            checker = users[0]
            app.wait_live()
            stale = stale_check(app, checker, board_id, cards[0], lambda: (redis.kill(), redis.start(), app.wait_live()),
                                "Redis restart", expect_reload=True)

            def restart_app():
                app.stop()
                app.start()
                app.wait_live()
            # Redis kept the board's log and sequence: the page continues where it was, nothing to reload.
            stale += stale_check(app, checker, board_id, cards[1], restart_app, "app restart", expect_reload=False)

            try:
                sys.path.insert(0, str(ROOT / "bench"))
                from body_memory import rss_peak_mb
            except ImportError:
                rss = "na"
            else:
                app.stop()
                app.start()  # a fresh worker: its peak RSS is the posts' alone
                measured = rss_peak_mb(app.url, server_pid=app.worker_pid(), posts=100, size_mb=15)
                rss = measured["rss_peak_mb"]
                print(f"memory  : 100 x 15 MiB posts: rss start {measured['rss_start_mb']} MB, peak {rss} MB, "
                      f"after {measured['rss_after_mb']} MB, statuses {measured['statuses']}")
            log = (folder / "app.log").read_text(errors="replace")
            if "Traceback" in log:
                print("warning : the app logged a traceback:\n" + log[log.index("Traceback"):][:3000])
        finally:
            app.stop()
            redis.stop()
    print(f"faults acked={acked} lost={lost} false_errors={false_errors} max_publish_block_ms={max_publish_ms:.2f} "
          f"stale_after_restart={stale} rss_peak_mb_100x15mb={rss}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
