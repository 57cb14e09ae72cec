#!/usr/bin/env python3
"""Benchmark moving data in and out: a 5,000-card board loaded from a snapshot and exported again.

    cd /work/main && .venv/bin/python bench/data.py [--cards 5000] [--runs 3] [--database-url URL]

In a throw-away temp dir (the real instance/ database is never touched) it creates the schema in a
fresh SQLite database (or the empty database at --database-url), makes one user and eleven
colleagues, builds a snapshot of --cards cards over 6 columns (labels, assignees, a checklist and
two comments on every card, long descriptions), then times:

  load_5000_s    webapp.portable.load_board + commit (validation and bulk inserts)
  export_5000_s  webapp.portable.export_board + json.dumps of the board just loaded

Each figure is the best of --runs (every load writes a new board). The last line is machine-readable:

    data import_trello_5000_s=<n> export_5000_s=<n> api_cards_rps=<n> api_move_rps=<n> load_5000_s=<n>

import_trello_5000_s is a 5,000-card Trello export parsed, converted and loaded
(tests/fixtures/trello.py, time_trello_import); api_cards_rps and api_move_rps come from
bench/api.py (a 1,000-card board through the API with a token, wrk c50; n/a if it fails).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SECRET_KEY", "bench-secret")

LABELS = [("Bug", "red"), ("Feature", "green"), ("Docs", "blue"), ("Design", "purple"), ("Urgent", "orange"),
          ("Quick win", "yellow")]
WORDS = ("launch board review draft customer pricing onboarding signup billing report search export mobile "
         "login invite reminder calendar deploy metrics").split()


def build_snapshot(cards: int, emails: list[str]) -> dict:
    columns = [{"key": f"C{c}", "title": title, "cards": []}
               for c, title in enumerate(["Backlog", "To do", "Doing", "Review", "Done", "Archive"])]
    for n in range(cards):
        words = [WORDS[(n * 7 + i) % len(WORDS)] for i in range(6)]
        columns[n % len(columns)]["cards"].append({
            "key": f"K{n}", "title": " ".join(words[:4]).capitalize() + f" #{n}",
            "description": ("Some **Markdown** about " + " ".join(words) + ".\n\n") * 3,
            "due_date": f"2026-12-{n % 28 + 1:02d}" if n % 3 == 0 else None,
            "labels": [f"L{n % len(LABELS)}", f"L{(n + 2) % len(LABELS)}"],
            "assignees": [emails[n % len(emails)]],
            "checklist": [{"text": f"Step {i}", "done": i < n % 4} for i in range(3)],
            "comments": [{"author_email": emails[(n + i) % len(emails)], "author_name": "Someone",
                          "body": f"Comment {i} on card {n}", "created_at": "2026-11-30T10:00:00Z"} for i in range(2)],
        })
    return {"format": "corkboard-board", "version": 1, "board": {
        "title": f"Bench {cards}", "color": "blue",
        "members": [{"email": email, "name": email.split("@")[0], "role": "editor"} for email in emails],
        "labels": [{"key": f"L{i}", "name": name, "color": color} for i, (name, color) in enumerate(LABELS)],
        "columns": columns}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cards", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database-url", help="an EMPTY database to use instead of a temp SQLite file "
                                               "(its tables are dropped at the end)")
    args = parser.parse_args()

    from sqlalchemy import func, select

    from webapp import create_app
    from webapp.extensions import db
    from webapp.models import Board, Card, User
    from webapp.portable import export_board, load_board

    with tempfile.TemporaryDirectory(prefix="corkboard-bench-data-") as temp:
        url = args.database_url or f"sqlite:///{Path(temp) / 'bench.db'}"
        app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "UPLOAD_FOLDER": str(Path(temp) / "up"),
                          "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000", "DEV_MAILBOX": False})
        with app.app_context():
            db.create_all()
            try:
                owner = User(name="Owner", email="owner@bench.test", password_hash="x")
                people = [User(name=f"Person {i}", email=f"person{i}@bench.test", password_hash="x") for i in range(11)]
                db.session.add_all([owner, *people])
                db.session.commit()
                snapshot = build_snapshot(args.cards, [person.email for person in people])
                loads, exports, size = [], [], 0
                for _ in range(args.runs):
                    started = time.perf_counter()
                    board, summary = load_board(snapshot, owner)
                    db.session.commit()
                    loads.append(time.perf_counter() - started)
                    board_id = board.id
                    db.session.expire_all()
                    started = time.perf_counter()
                    body = json.dumps(export_board(db.session.get(Board, board_id)), ensure_ascii=False)
                    exports.append(time.perf_counter() - started)
                    size = len(body.encode())
                    db.session.rollback()
                written = db.session.scalar(select(func.count()).select_from(Card).where(Card.board_id == board_id))
                if written != args.cards or summary["comments"] != 2 * args.cards or summary["skipped"]:
                    print(f"invalid run: {written} cards written, summary {summary}", file=sys.stderr)
                    return 1
            finally:
                db.session.remove()
                db.drop_all()
        print(f"database={url.split(':', 1)[0]} cards={args.cards} "
              f"runs={args.runs} load_s={[round(x, 3) for x in loads]} export_s={[round(x, 3) for x in exports]} "
              f"json_bytes={size}")

    # TRELLO_AND_API: the Trello import, and the REST API figures (api_cards_rps, api_move_rps):
    # bench/api.py in its own process (its own server and database), a 1,000-card board, c50.
    from tests.fixtures.trello import time_trello_import
    import_trello = f"{time_trello_import(args.cards, args.runs, args.database_url):.3f}"
    api_cards = api_move = "n/a"
    measured = subprocess.run([sys.executable, str(ROOT / "bench" / "api.py")], capture_output=True, text=True)
    figures = dict(part.split("=") for part in (measured.stdout.strip().splitlines() or [""])[-1].split()[1:])
    if {"cards_rps", "move_rps"} <= set(figures):
        api_cards, api_move = figures["cards_rps"], figures["move_rps"]
    if measured.returncode:  # non-2xx answers or timeouts: the figures are printed, but say so
        print(f"bench/api.py: {measured.stderr.strip()[-500:]}", file=sys.stderr)
    print(f"data import_trello_5000_s={import_trello} export_5000_s={min(exports):.3f} api_cards_rps={api_cards} "
          f"api_move_rps={api_move} load_5000_s={min(loads):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
