"""What a browser reads from the live stream: text never forges a field, and ids survive restarts."""
import asyncio

import pytest

from tests.sse import parse_event_stream
from tests.test_live import Browser, join_board, run, token_for
from webapp.extensions import db
from webapp.live import Event, MemoryBroker
from webapp.models import Card, User

FORGERIES = ["a\rb", "a\nb", "a\r\nb", "\rid: 999999999", "\rid: 999999999\r", "x\r\revent: refresh\r\rdata: y",
             "\r\n\r\n", "\n\nretry: 1\n\n", "\r\rid: 1\r\r"]


@pytest.mark.parametrize("text", FORGERIES)
def test_a_frame_carries_its_text_as_data_whatever_line_breaks_it_holds(text):
    data = f"<!--v:3-->\n<a>{text}</a>"
    events = parse_event_stream(Event(41, 7, "board", data).frame.decode())
    assert events == [{"event": "board", "data": data.replace("\r\n", "\n").replace("\r", "\n"), "id": "41"}]


async def read_all(browser: Browser, seconds: float) -> list[dict]:
    """Everything the stream sends for a while, as the browser dispatches it."""
    raw = ""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        try:
            message = await asyncio.wait_for(browser.outbox.get(), deadline - loop.time())
        except asyncio.TimeoutError:
            break
        raw += message.get("body", b"").decode()
    return parse_event_stream(raw)


def test_a_title_or_a_name_with_line_breaks_forges_no_event_on_open_boards(app, ada, bob):
    """A viewer named "Bob\\revent: refresh..." once made every open board reload, and a card
    titled "\\rid: 999999999\\r" set every open page's last-seen id so it ignored what came next."""
    bob_id = join_board(app, ada, "bob@example.com", "viewer")
    with app.app_context():
        db.session.get(User, bob_id).name = "Bob\r\revent: refresh\rdata: x\r\r"
        db.session.commit()

    async def scenario(streams):
        ada_browser = await Browser(streams, ada.board.id, token_for(app, "ada@example.com", ada.board.id)).open()
        bob_browser = await Browser(streams, ada.board.id, token_for(app, "bob@example.com", ada.board.id)).open()
        for title in ("Forged\rid: 999999999\r", "Forged\nid: 999999999\n", "Forged\r\nid: 999999999\r\n"):
            response = await asyncio.to_thread(ada.hx, "PUT", ada.board.card_url("One"), {"title": title})
            assert response.status_code == 200
        events = await read_all(ada_browser, 1.0)
        await bob_browser.close()
        await ada_browser.close()
        return events

    events = run(app, scenario)
    assert {event["event"] for event in events} == {"presence", "board"}
    board_events = [event for event in events if event["event"] == "board"]
    assert len(board_events) == 3
    ids = [int(event["id"]) for event in board_events]
    assert ids == sorted(set(ids)) and 999999999 not in ids
    assert "Forged\nid: 999999999" in board_events[0]["data"]  # the title arrives whole, as text
    assert any("Bob" in event["data"] for event in events if event["event"] == "presence")
    with app.app_context():
        assert db.session.get(Card, ada.board.cards["One"]).title.startswith("Forged")


def restart(app) -> MemoryBroker:
    """The app restarts: a new broker, with an empty log."""
    app.extensions["live"] = MemoryBroker()
    return app.extensions["live"]


def test_event_ids_keep_growing_across_a_restart(app, ada):
    before = [app.extensions["live"].publish(ada.board.id, "board", f"change {n}").id for n in range(3)]
    after = [restart(app).publish(ada.board.id, "board", f"change {n}").id for n in range(3)]
    assert before == sorted(before) and after == sorted(after)
    assert min(after) > max(before)


@pytest.mark.parametrize("published_since", [0, 2])
def test_a_page_holding_an_id_from_before_a_restart_catches_up_and_misses_nothing_after(app, ada, published_since):
    """After a restart the page reconnects with its old Last-Event-ID: it is told to reload its
    board (what changed while the server was down is not in the new log), continues from the
    new newest id, and every event after that reaches it."""
    old_id = [app.extensions["live"].publish(ada.board.id, "board", f"old {n}").id for n in range(5)][-1]
    broker = restart(app)
    for n in range(published_since):
        broker.publish(ada.board.id, "board", f"while reconnecting {n}")

    async def scenario(streams):
        token = token_for(app, "ada@example.com", ada.board.id)
        browser = await Browser(streams, ada.board.id, token, [(b"last-event-id", str(old_id).encode())]).open()
        refresh = await browser.frame()
        assert refresh["event"] == "refresh"
        assert int(refresh["id"]) == broker.newest(ada.board.id) > old_id
        await asyncio.to_thread(ada.hx, "POST", f"{ada.board.column_url('Doing')}/cards", {"title": "After restart"})
        frame = await browser.frame_named("board")
        assert ">After restart</a>" in frame["data"] and int(frame["id"]) > int(refresh["id"])
        await browser.close()
    run(app, scenario)


@pytest.mark.parametrize("header, query", [(b"9" * 40, ""), (b"", "&last=" + "9" * 40), (b"", "&last=%D9%A1%D9%A2"),
                                           (b"12abc", "&last=-1")])
def test_a_nonsense_last_event_id_opens_the_stream_as_a_fresh_page(app, ada, header, query):
    async def scenario(streams):
        token = token_for(app, "ada@example.com", ada.board.id)
        browser = Browser(streams, ada.board.id, token + query, [(b"last-event-id", header)] if header else [])
        await browser.open()
        assert browser.status == 200
        assert (await browser.frame())["event"] == "presence"  # no refresh, no replay: a fresh page
        await browser.close()
    run(app, scenario)
