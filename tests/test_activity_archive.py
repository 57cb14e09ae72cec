"""Activity log, archive and restore, WIP limits, filters, My cards."""
from datetime import date, timedelta

from webapp.extensions import db
from webapp.models import Activity, Card, Label, User, card_assignees
from tests.conftest import card_titles, column_titles


def test_activity_says_who_moved_what_where(app, ada):
    ada.hx("PATCH", f"{ada.board.card_url('Two')}/move", {"column_id": ada.board.columns["Done"], "position": 0})
    page = ada.get(f"{ada.board.url}/activity").get_data(as_text=True)
    assert "<strong>Ada</strong> moved “<strong>Two</strong>” from “<strong>To do</strong>” to “<strong>Done</strong>”" in page
    assert "just now" in page
    card_log = ada.hx("GET", f"{ada.board.card_url('Two')}/activity").get_data(as_text=True)
    assert "moved" in card_log and "<html" not in card_log


def test_activity_escapes_what_users_typed(ada):
    ada.hx("POST", f"{ada.board.column_url('Doing')}/cards", {"title": "<b>bold</b>"})
    page = ada.get(f"{ada.board.url}/activity").get_data(as_text=True)
    assert "&lt;b&gt;bold&lt;/b&gt;" in page and "<b>bold</b>" not in page


def test_a_failed_change_records_no_activity(app, ada):
    ada.hx("POST", f"{ada.board.column_url('Doing')}/cards", {"title": ""})
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Activity)) == 0


def test_archive_and_restore_a_card(app, ada):
    response = ada.hx("PATCH", f"{ada.board.card_url('Two')}/archive")
    html = response.get_data(as_text=True)
    assert f'<li id="card-{ada.board.cards["Two"]}" hx-swap-oob="delete">' in html
    assert f'id="column-count-{ada.board.columns["To do"]}"' in html and ">2<" in html
    board = ada.get(ada.board.url).get_data(as_text=True)
    assert ">Two</a>" not in board
    archive = ada.get(f"{ada.board.url}/archive").get_data(as_text=True)
    assert "Two" in archive and "from To do" in archive
    assert ada.form("PATCH", f"{ada.board.card_url('Two')}/restore").status_code == 303
    assert card_titles(app, ada.board.id, "To do") == ["One", "Two", "Three"]
    assert ">Two</a>" in ada.get(ada.board.url).get_data(as_text=True)


def test_archive_and_restore_a_column(app, ada):
    response = ada.hx("PATCH", f"{ada.board.column_url('To do')}/archive")
    assert response.status_code == 200
    board = ada.get(ada.board.url).get_data(as_text=True)
    assert "To do" not in board and ">One</a>" not in board
    # A card of an archived column cannot come back on its own.
    with app.app_context():
        db.session.get(Card, ada.board.cards["One"]).archived_at = db.func.now()
        db.session.commit()
    refused = ada.hx("PATCH", f"{ada.board.card_url('One')}/restore")
    assert refused.status_code == 409 and "restore the column first" in refused.get_data(as_text=True)
    ada.hx("PATCH", f"{ada.board.column_url('To do')}/restore")
    board = ada.get(ada.board.url).get_data(as_text=True)
    assert "To do" in board and ">Two</a>" in board and ">One</a>" not in board
    assert column_titles(app, ada.board.id) == ["To do", "Doing", "Done"]


def test_moving_among_visible_cards_ignores_archived_ones(app, ada):
    ada.hx("PATCH", f"{ada.board.card_url('One')}/archive")
    ada.hx("PATCH", f"{ada.board.card_url('Three')}/move", {"column_id": ada.board.columns["To do"], "position": 0})
    page = ada.get(ada.board.url).get_data(as_text=True)
    assert page.index(">Three</a>") < page.index(">Two</a>")


def test_wip_limit_warns_when_exceeded(app, ada):
    response = ada.hx("PATCH", f"{ada.board.column_url('To do')}/wip", {"wip_limit": "2"})
    html = response.get_data(as_text=True)
    assert "3/2" in html and "over WIP limit" in html
    ok = ada.hx("PATCH", f"{ada.board.column_url('Doing')}/wip", {"wip_limit": "1"}).get_data(as_text=True)
    assert "0/1" in ok and "over WIP limit" not in ok
    added = ada.hx("POST", f"{ada.board.column_url('Doing')}/cards", {"title": "A"}).get_data(as_text=True)
    assert "1/1" in added and "over WIP limit" not in added
    added = ada.hx("POST", f"{ada.board.column_url('Doing')}/cards", {"title": "B"}).get_data(as_text=True)
    assert "2/1" in added and "over WIP limit" in added
    assert "over WIP limit" in ada.get(ada.board.url).get_data(as_text=True)


def test_wip_limit_rejects_nonsense_and_can_be_cleared(app, ada):
    bad = ada.hx("PATCH", f"{ada.board.column_url('To do')}/wip", {"wip_limit": "0"})
    assert bad.status_code == 422 and "from 1 to 999" in bad.get_data(as_text=True)
    ada.form("PATCH", f"{ada.board.column_url('To do')}/wip", {"wip_limit": "5"})
    ada.form("PATCH", f"{ada.board.column_url('To do')}/wip", {"wip_limit": ""})
    assert "3/5" not in ada.get(ada.board.url).get_data(as_text=True)


def give_card_label_and_due(app, ada):
    with app.app_context():
        label = Label(board_id=ada.board.id, name="Bug", color="red")
        db.session.add(label)
        db.session.flush()
        one = db.session.get(Card, ada.board.cards["One"])
        one.labels.append(label)
        one.due_date = date.today() - timedelta(days=1)
        two = db.session.get(Card, ada.board.cards["Two"])
        two.due_date = date.today() + timedelta(days=3)
        ada_id = one.board.owner_id
        db.session.execute(card_assignees.insert().values(card_id=two.id, user_id=ada_id))
        db.session.commit()
        return label.id, ada_id


def test_filters_combine_in_the_query_string(app, ada):
    label_id, ada_id = give_card_label_and_due(app, ada)

    def shown(query):
        html = ada.hx("GET", f"{ada.board.url}?{query}").get_data(as_text=True)
        return [title for title in ("One", "Two", "Three") if f">{title}</a>" in html]

    assert shown(f"label={label_id}") == ["One"]
    assert shown("due=overdue") == ["One"]
    assert shown("due=week") == ["Two"]
    assert shown("due=none") == ["Three"]
    assert shown(f"assignee={ada_id}") == ["Two"]
    assert shown(f"assignee={ada_id}&due=overdue") == []
    assert shown(f"label={label_id}&q=on") == ["One"]
    assert shown("label=abc&due=whenever") == ["One", "Two", "Three"]


def test_filter_bar_shows_the_boards_labels_and_members(app, ada):
    label_id, _ = give_card_label_and_due(app, ada)
    page = ada.get(f"{ada.board.url}?label={label_id}").get_data(as_text=True)
    assert f'name="label" value="{label_id}" checked' in page
    assert 'name="assignee"' in page and "Ada" in page
    assert '<span class="badge filter-count">1</span>' in page  # the Labels button counts the picked ones


def test_card_face_shows_overdue_and_labels(app, ada):
    give_card_label_and_due(app, ada)
    page = ada.get(ada.board.url).get_data(as_text=True)
    assert 'class="label label-red">Bug<' in page
    assert "overdue" in page


def test_my_cards_lists_assigned_cards_across_boards_by_due_date(app, ada):
    give_card_label_and_due(app, ada)
    with app.app_context():
        three = db.session.get(Card, ada.board.cards["Three"])
        three.due_date = date.today()
        db.session.execute(card_assignees.insert().values(card_id=three.id, user_id=three.board.owner_id))
        db.session.commit()
    page = ada.get("/my-cards").get_data(as_text=True)
    assert "Roadmap" in page and page.index(">Three</a>") < page.index(">Two</a>")
    assert ">One</a>" not in page


def test_my_cards_hides_boards_i_left(app, ada, bob):
    with app.app_context():
        bob_id = db.session.scalar(db.select(User.id).where(User.email == "bob@example.com"))
        db.session.execute(card_assignees.insert().values(card_id=ada.board.cards["One"], user_id=bob_id))
        db.session.commit()
    assert ">One</a>" not in bob.get("/my-cards").get_data(as_text=True)
