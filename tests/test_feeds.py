"""Calendar feeds of due dates: "My cards" and each board, at secret addresses that a reset retires.
Feeds are read the way a calendar app reads them: with icalendar, without a login or a cookie."""
import re
from datetime import date, timedelta, timezone

import pytest
from icalendar import Calendar
from sqlalchemy import event, select

from tests.conftest import BoardRef, make_board
from webapp.extensions import db
from webapp.models import BoardColumn, BoardMember, Card, User, utcnow

FEED_URLS = re.compile(r'value="(http://localhost(/feeds/[^"]+\.ics))"')
DUE = date(2027, 3, 31)


def turn_on_feeds(client) -> dict[str, str]:
    """Turn the feeds on from the feeds page; their addresses, as the page shows them, by name."""
    response = client.form("POST", "/account/feeds/reset")
    assert response.status_code == 303 and response.headers["Location"] == "/account/feeds"
    return feed_paths(client)


def feed_paths(client) -> dict[str, str]:
    html = client.get("/account/feeds").get_data(as_text=True)
    paths = [path for _, path in FEED_URLS.findall(html)]
    names = re.findall(r'<label class="grow" for="feed-[^"]+">([^<]+)', html)
    return {name.strip(): path for name, path in zip(names, paths)}


def events(response):
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    calendar = Calendar.from_ical(response.get_data())
    return {str(event["SUMMARY"]): event for event in calendar.walk("VEVENT")}


def set_card(app, card_id, **values):
    with app.app_context():
        card = db.session.get(Card, card_id)
        for name, value in values.items():
            setattr(card, name, value)
        db.session.commit()


def assign(app, card_id, email):
    with app.app_context():
        card = db.session.get(Card, card_id)
        card.assignees.append(db.session.scalar(select(User).where(User.email == email)))
        db.session.commit()


@pytest.fixture
def feeds(app, ada):
    """Ada's board with due dates on One and Two (One assigned to her), Three undated; her feeds on."""
    set_card(app, ada.board.cards["One"], due_date=DUE)
    set_card(app, ada.board.cards["Two"], due_date=DUE + timedelta(days=3))
    assign(app, ada.board.cards["One"], "ada@example.com")
    return turn_on_feeds(ada)


def test_the_board_feed_has_an_all_day_event_per_due_card(app, ada, feeds):
    anonymous = app.test_client()  # a calendar app: no login
    found = events(anonymous.get(feeds["Roadmap"]))
    assert set(found) == {"One", "Two"}  # Three has no due date
    one = found["One"]
    assert one.decoded("DTSTART") == DUE and one["DTSTART"].params["VALUE"] == "DATE"
    assert one.decoded("DTEND") == DUE + timedelta(days=1)  # all day: the end is the next day, exclusive
    card_url = f"http://localhost/boards/{ada.board.id}/cards/{ada.board.cards['One']}"
    assert str(one["URL"]) == card_url
    assert str(one["DESCRIPTION"]) == f"To do · Roadmap\n{card_url}"
    assert str(one["UID"]) == f"card-{ada.board.cards['One']}@localhost"
    with app.app_context():
        updated = db.session.get(Card, ada.board.cards["One"]).updated_at.replace(tzinfo=timezone.utc)
    assert one.decoded("DTSTAMP") == one.decoded("LAST-MODIFIED") == updated.replace(microsecond=0)
    assert "Roadmap" in str(Calendar.from_ical(anonymous.get(feeds["Roadmap"]).get_data())["X-WR-CALNAME"])


def test_my_cards_has_only_cards_assigned_to_me(app, ada, feeds):
    assert set(events(app.test_client().get(feeds["My cards"]))) == {"One"}
    assign(app, ada.board.cards["Two"], "ada@example.com")
    assert set(events(app.test_client().get(feeds["My cards"]))) == {"One", "Two"}


def test_my_cards_spans_my_boards_and_forgets_the_ones_i_left(app, ada, bob, feeds):
    with app.app_context():
        bob_user = db.session.scalar(select(User).where(User.email == "bob@example.com"))
        ada_user = db.session.scalar(select(User).where(User.email == "ada@example.com"))
        other = make_board(bob_user, "Garden", {"Spring": ["Plant tulips"]})
        other.members.append(BoardMember(user=ada_user, role="editor"))
        db.session.commit()
        garden, ada_id = BoardRef(other), ada_user.id
    set_card(app, garden.cards["Plant tulips"], due_date=DUE)
    assign(app, garden.cards["Plant tulips"], "ada@example.com")
    assert set(events(app.test_client().get(feeds["My cards"]))) == {"One", "Plant tulips"}
    assert "Garden" in feed_paths(ada)  # the feeds page lists the new board's feed too

    with app.app_context():  # Ada leaves the garden: its card is not hers to see any more
        db.session.execute(BoardMember.__table__.delete().where(BoardMember.board_id == garden.id,
                                                                BoardMember.user_id == ada_id))
        db.session.commit()
    assert set(events(app.test_client().get(feeds["My cards"]))) == {"One"}
    assert app.test_client().get(f"/feeds/{feeds['My cards'].split('/')[2]}/boards/{garden.id}.ics").status_code == 404


def test_archived_cards_and_columns_are_left_out(app, ada, feeds):
    set_card(app, ada.board.cards["Two"], archived_at=utcnow())
    assert set(events(app.test_client().get(feeds["Roadmap"]))) == {"One"}
    with app.app_context():
        db.session.get(BoardColumn, ada.board.columns["To do"]).archived_at = utcnow()
        db.session.commit()
    assert events(app.test_client().get(feeds["Roadmap"])) == {}
    assert events(app.test_client().get(feeds["My cards"])) == {}


def test_a_board_i_am_not_on_is_404(app, ada, bob, feeds):
    with app.app_context():
        garden = BoardRef(make_board(db.session.scalar(select(User).where(User.email == "bob@example.com")), "Garden"))
    secret = feeds["My cards"].split("/")[2]
    response = app.test_client().get(f"/feeds/{secret}/boards/{garden.id}.ics")
    assert response.status_code == 404
    assert app.test_client().get(f"/feeds/{secret}/boards/999999.ics").status_code == 404
    assert app.test_client().get(f"/feeds/{secret}/boards/99999999999999999999.ics").status_code == 404


def test_someone_elses_address_opens_nothing_of_mine(app, ada, bob, feeds):
    bob_feeds = turn_on_feeds(bob)
    ada_secret, bob_secret = feeds["My cards"].split("/")[2], bob_feeds["My cards"].split("/")[2]
    assert ada_secret != bob_secret
    assert events(app.test_client().get(bob_feeds["My cards"])) == {}
    # Bob's signature with Ada's id, or his secret on her board: both nobody's.
    forged = ada_secret.split(".")[0] + "." + bob_secret.split(".")[1]
    assert app.test_client().get(f"/feeds/{forged}/my-cards.ics").status_code == 404
    assert app.test_client().get(f"/feeds/{bob_secret}/boards/{ada.board.id}.ics").status_code == 404


@pytest.mark.parametrize("secret", ["nothing", "1", "1.", "1.abc", "0.x", "99999999999.x", ".x", "1.x.y"])
def test_made_up_addresses_are_404_and_plain(app, ada, feeds, secret):
    for path in (f"/feeds/{secret}/my-cards.ics", f"/feeds/{secret}/boards/{ada.board.id}.ics"):
        response = app.test_client().get(path)
        assert response.status_code == 404
        assert response.mimetype == "text/plain" and "Set-Cookie" not in response.headers


def test_feeds_are_off_until_turned_on(app, ada):
    html = ada.get("/account/feeds").get_data(as_text=True)
    assert "Your feeds are off" in html and ".ics" not in html
    with app.app_context():
        assert db.session.scalar(select(User.feed_key).where(User.email == "ada@example.com")) is None


def test_reset_retires_the_old_addresses(app, ada, feeds):
    html = ada.get("/account/feeds").get_data(as_text=True)
    assert '<form method="get" action="/account/feeds/reset" hx-post="/account/feeds/reset"' in html
    question = ada.get("/account/feeds/reset").get_data(as_text=True)  # without JavaScript: asked first
    assert "Reset your feed address?" in question
    assert feed_paths(ada) == feeds  # asking changes nothing
    assert '<form method="post" action="/account/feeds/reset">' in question

    new = turn_on_feeds(ada)
    assert set(new) == set(feeds) and not set(new.values()) & set(feeds.values())
    for old in feeds.values():
        assert app.test_client().get(old).status_code == 404
    assert set(events(app.test_client().get(new["Roadmap"]))) == {"One", "Two"}


def test_reset_with_htmx_reloads_the_page(app, ada, feeds):
    response = ada.hx("POST", "/account/feeds/reset")
    assert response.status_code == 200 and response.headers["HX-Redirect"] == "/account/feeds"
    assert app.test_client().get(feeds["My cards"]).status_code == 404


def test_reset_needs_the_csrf_token_and_a_login(app, ada, feeds):
    assert ada.client.post("/account/feeds/reset").status_code == 400
    assert app.test_client().post("/account/feeds/reset").status_code in (302, 400)
    assert app.test_client().get(feeds["My cards"]).status_code == 200  # still the same address
    assert app.test_client().get("/account/feeds").status_code == 302


def test_the_database_holds_no_address(app, ada, feeds):
    with app.app_context():
        dump = "\n".join(str(row) for table in db.metadata.sorted_tables
                         for row in db.session.execute(table.select()).all())
    signature = feeds["My cards"].split("/")[2].split(".")[1]
    assert signature not in dump


def test_a_new_secret_key_retires_every_address(app, ada, feeds):
    app.config["SECRET_KEY"] = "another-secret"
    assert app.test_client().get(feeds["My cards"]).status_code == 404


@pytest.mark.parametrize("title", [
    "Ship it\r\nBEGIN:VEVENT\r\nSUMMARY:Injected",
    "Commas, semicolons; and \\ backslashes",
    "Résumé · 日本語 🎉",
])
def test_hostile_titles_are_escaped(app, ada, feeds, title):
    set_card(app, ada.board.cards["One"], title=title)
    response = app.test_client().get(feeds["Roadmap"])
    raw = response.get_data(as_text=True)
    assert "\r\nBEGIN:VEVENT\r\nSUMMARY:Injected" not in raw
    calendar = Calendar.from_ical(response.get_data())
    assert len(calendar.walk("VEVENT")) == 2  # no event smuggled in
    summaries = [str(event["SUMMARY"]) for event in calendar.walk("VEVENT")]
    assert title.replace("\r\n", "\n") in [summary.replace("\r\n", "\n") for summary in summaries]


def test_feeds_set_no_cookie_even_for_a_logged_in_browser(app, ada, feeds):
    for path in feeds.values():
        for client in (app.test_client(), ada.client):
            response = client.get(path)
            assert response.status_code == 200
            assert "Set-Cookie" not in response.headers


def test_an_unchanged_feed_answers_304(app, ada, feeds):
    client = app.test_client()
    first = client.get(feeds["Roadmap"])
    again = client.get(feeds["Roadmap"], headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.data == b"" and again.headers["ETag"] == first.headers["ETag"]
    set_card(app, ada.board.cards["One"], title="One, renamed")
    changed = client.get(feeds["Roadmap"], headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200 and "One, renamed" in events(changed)
    with app.app_context():  # the column's name is in each event's description
        db.session.get(BoardColumn, ada.board.columns["To do"]).title = "Backlog"
        db.session.commit()
    renamed = client.get(feeds["Roadmap"], headers={"If-None-Match": changed.headers["ETag"]})
    assert renamed.status_code == 200 and str(events(renamed)["Two"]["DESCRIPTION"]).startswith("Backlog · Roadmap")


def test_a_feed_costs_two_statements_however_many_cards(app, ada, feeds):
    with app.app_context():
        column = db.session.get(BoardColumn, ada.board.columns["Doing"])
        for number in range(30):
            card = Card(board_id=ada.board.id, title=f"Extra {number}", position=f"z{number:02}", due_date=DUE)
            column.cards.append(card)
        db.session.commit()
        for card in column.cards:
            card.assignees.append(db.session.scalar(select(User).where(User.email == "ada@example.com")))
        db.session.commit()
    statements = []
    with app.app_context():
        engine = db.engine
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        for path, count in ((feeds["Roadmap"], 32), (feeds["My cards"], 31)):
            statements.clear()
            assert len(events(app.test_client().get(path))) == count
            assert len(statements) == 2, statements
    finally:
        event.remove(engine, "before_cursor_execute", listener)


def test_the_account_page_links_to_the_feeds(ada):
    assert 'href="/account/feeds"' in ada.get("/account").get_data(as_text=True)


def test_dates_are_whole_days_and_stamps_utc_in_the_raw_feed(app, ada, feeds):
    raw = app.test_client().get(feeds["Roadmap"]).get_data(as_text=True)
    assert "DTSTART;VALUE=DATE:20270331" in raw and "DTEND;VALUE=DATE:20270401" in raw
    assert re.search(r"DTSTAMP:\d{8}T\d{6}Z", raw)
