#!/usr/bin/env python3
"""Benchmark the REST API under Hypercorn with a personal access token: a 1,000-card board's
cards list and card moves.

    cd /work/main && .venv/bin/python bench/api.py [--cards 1000] [--duration 10] [--connections 50]

In a throw-away temp dir (bench/board_page.py's set-up: migrated SQLite, seeded board, Hypercorn
with --workers): a write token for the board's owner, then wrk on
  GET  /api/v1/boards/<id>/cards           (the first page: 50 cards, with labels and assignees)
  POST /api/v1/boards/<id>/cards/<id>/move (random cards to random columns and places)
The change limit (RATELIMIT_CHANGES_PER_USER, 600 a minute) is raised for the run: this measures
what the server can do, not the limit. Prints, last:
  api cards_rps=<n> cards_p99_ms=<n> move_rps=<n> move_p99_ms=<n>
and exits non-zero on any non-2xx answer.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import tempfile
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import board_page  # noqa: E402 -- its set-up and wrk helpers

MOVES_LUA = """
local cards = {%(cards)s}
local columns = {%(columns)s}
request = function()
  local card = cards[math.random(#cards)]
  local body = string.format('{"column_id": %%d, "position": %%d}', columns[math.random(#columns)], math.random(0, 20))
  return wrk.format("POST", "/api/v1/boards/%(board)d/cards/" .. card .. "/move", nil, body)
end
"""


def issue_token(board_id: int) -> tuple[str, list[int], list[int]]:
    """A write token of the board's owner, and the board's card and column ids."""
    from webapp import create_app
    from webapp.access import secret_digest
    from webapp.extensions import db
    from webapp.models import AccessToken, Board
    from webapp.tokens import SHOWN_LENGTH, new_secret
    secret = new_secret()
    app = create_app()
    with app.app_context():
        board = db.session.get(Board, board_id)
        db.session.add(AccessToken(user_id=board.owner_id, name="bench", token_hash=secret_digest(secret),
                                   prefix=secret[:SHOWN_LENGTH], scope="write"))
        db.session.commit()
        columns = [column.id for column in board.columns]
        cards = [card.id for column in board.columns for card in column.cards]
    return secret, cards, columns


def measure(args, wrk: str, tmp: Path) -> dict:
    env = dict(os.environ)
    env.update(DATABASE_URL=f"sqlite:///{tmp / 'bench.db'}", SECRET_KEY=secrets.token_hex(32),
               RATELIMIT_CHANGES_PER_USER="1000000 per minute")
    env.pop("FLASK_DEBUG", None)
    os.environ.update(DATABASE_URL=env["DATABASE_URL"], SECRET_KEY=env["SECRET_KEY"])
    board_page.migrate(env)
    board_id, _ = board_page.seed(args.cards)
    secret, cards, columns = issue_token(board_id)
    port = board_page.free_port()
    log_path = tmp / "hypercorn.log"
    proc = board_page.start_server(env, port, args.workers, log_path)
    try:
        board_page.wait_healthy(proc, port, log_path)
        base = f"http://{board_page.HOST}:{port}"
        headers = [f"Authorization: Bearer {secret}", "Content-Type: application/json",
                   f"User-Agent: {board_page.USER_AGENT}"]
        listing = f"{base}/api/v1/boards/{board_id}/cards"
        check = urllib.request.Request(listing, headers={"Authorization": f"Bearer {secret}"})
        with urllib.request.urlopen(check, timeout=10) as response:
            if len(json.load(response)["items"]) != 50:
                raise RuntimeError("the cards list did not answer a full page")
        script = tmp / "moves.lua"
        script.write_text(MOVES_LUA % {"cards": ", ".join(map(str, cards)), "columns": ", ".join(map(str, columns)),
                                       "board": board_id})
        board_page.run_wrk(wrk, listing, args, args.warmup, headers)
        cards_run = board_page.run_wrk(wrk, listing, args, args.duration, headers)
        moves_run = run_script(wrk, base, args, headers, script)
        return {"cards": cards_run, "move": moves_run}
    finally:
        board_page.stop_server(proc)


def run_script(wrk: str, base: str, args, headers: list[str], script: Path) -> dict:
    """wrk with a Lua script (the moves): board_page.run_wrk, its command given `-s`."""
    original = board_page.subprocess.run

    def with_script(cmd, *a, **k):
        return original(cmd[:-1] + ["-s", str(script), cmd[-1]], *a, **k)
    board_page.subprocess.run = with_script
    try:
        return board_page.run_wrk(wrk, base, args, args.duration, headers)
    finally:
        board_page.subprocess.run = original


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cards", type=int, default=1000)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=2)
    args = parser.parse_args(argv)
    wrk = board_page.ensure_wrk()
    with tempfile.TemporaryDirectory(prefix="corkboard-api-bench-") as tmp:
        result = measure(args, wrk, Path(tmp))
    cards, move = result["cards"], result["move"]
    failed = [f"{name}: {run['non2xx']} non-2xx answers, socket errors {run['socket_errors']}"
              for name, run in result.items() if run["non2xx"] or "timeout 0" not in (run["socket_errors"] or "timeout 0")]
    for line in failed:
        print(line, file=sys.stderr)
    print(f"api cards_rps={cards['rps']:.0f} cards_p99_ms={cards['p99']:.1f} "
          f"move_rps={move['rps']:.0f} move_p99_ms={move['p99']:.1f}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
