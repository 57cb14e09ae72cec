"""The board's menu: every member can take the board out; only its owner renames or deletes it.
My boards leads to the import page."""
import re

from webapp.extensions import db
from webapp.models import BoardMember, User


def join(app, board_id, email, role):
    with app.app_context():
        user_id = db.session.scalar(db.select(User.id).where(User.email == email))
        db.session.add(BoardMember(board_id=board_id, user_id=user_id, role=role))
        db.session.commit()


def menu(html: str) -> str:
    return re.search(r'<details class="menu board-menu">.*?</details>', html, re.S).group(0)


def test_the_owner_renames_exports_and_deletes_from_the_menu(ada):
    items = menu(ada.get(ada.board.url).get_data(as_text=True))
    assert "Rename board" in items and "Delete board" in items
    assert f'href="{ada.board.url}/webhooks"' in items
    for kind in ("json", "zip", "csv"):
        assert f'href="{ada.board.url}/export.{kind}" class="menu-item" download' in items
    assert 'href="/account/feeds"' in items


def test_a_viewer_exports_but_neither_renames_nor_deletes(app, ada, bob):
    join(app, ada.board.id, "bob@example.com", "viewer")
    items = menu(bob.get(ada.board.url).get_data(as_text=True))
    assert "Export as JSON" in items and "Export cards as CSV" in items
    assert "Rename board" not in items and "Delete board" not in items and "Webhooks" not in items
    exported = bob.get(f"{ada.board.url}/export.json")  # the link works for them
    assert exported.status_code == 200 and exported.json["board"]["title"] == "Roadmap"


def test_my_boards_links_to_the_import_page(ada):
    page = ada.get("/boards/").get_data(as_text=True)
    assert 'href="/boards/import"' in page and "Import a board" in page
    assert ada.get("/boards/import").status_code == 200
