import re
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import func, select, text

from webapp.cli import DEMO_EMAIL, DEMO_PASSWORD
from webapp.extensions import db
from webapp.models import Attachment, Board, Card, User


def test_seed_demo_loads_once(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["seed-demo", "--if-empty"])
    assert f"{DEMO_EMAIL} / {DEMO_PASSWORD}" in result.output
    again = runner.invoke(args=["seed-demo", "--if-empty"])
    assert "already has data" in again.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Board)) == 1
        assert db.session.scalar(select(func.count()).select_from(Card)) >= 5
        assert db.session.scalar(select(User).where(User.email == DEMO_EMAIL)).check_password(DEMO_PASSWORD)


def test_create_user(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-user", "Lin@Example.com", "--name", "Lin", "--password", "tin-kettle-orbit"],
                           input="tin-kettle-orbit\n")
    assert "Created lin@example.com." in result.output
    duplicate = runner.invoke(args=["create-user", "lin@example.com", "--name", "Lin", "--password", "x"])
    assert duplicate.exit_code != 0 and "already exists" in duplicate.output
    client = app.test_client()

    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                      client.get("/login").get_data(as_text=True)).group(1)
    response = client.post("/login", data={"email": "lin@example.com", "password": "tin-kettle-orbit", "csrf_token": token})
    assert response.status_code == 303


def test_create_user_refuses_a_weak_password(app):
    runner = app.test_cli_runner()
    for weak in ("password", "12345678", "lin@example.com"):
        result = runner.invoke(args=["create-user", "lin@example.com", "--name", "Lin", "--password", weak])
        assert result.exit_code != 0 and ("easy to guess" in result.output or "your name or email" in result.output)
    with app.app_context():
        assert db.session.scalar(select(User).where(User.email == "lin@example.com")) is None


def test_migrations_build_the_schema_the_models_describe(app):
    with app.app_context():
        db.drop_all()
        upgrade()
        with db.engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), db.metadata)
        assert differences == []
        downgrade(revision="base")
        with db.engine.connect() as connection:
            assert "cards" not in db.inspect(connection).get_table_names()
        db.session.execute(text("DROP TABLE IF EXISTS alembic_version"))
        db.session.commit()


def test_seed_demo_shows_the_product_off(app):
    from datetime import date

    from webapp import storage
    from webapp.models import Activity, Attachment, BoardColumn, BoardMember, ChecklistItem, Comment, Label

    result = app.test_cli_runner().invoke(args=["seed-demo", "--if-empty"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        board = db.session.scalar(select(Board))
        count = lambda model: db.session.scalar(select(func.count()).select_from(model))  # noqa: E731
        assert board.color != "blue"  # a colour of its own
        assert [column.title for column in board.columns] == ["Backlog", "To do", "Doing", "Review", "Done"]
        assert count(Card) >= 18
        names = {label.name for label in db.session.scalars(select(Label))}
        assert {"Bug", "Feature", "Design", "Docs"} <= names and count(Label) >= 4
        assert count(BoardMember) >= 3 and count(User) >= 3
        cards = db.session.scalars(select(Card)).all()
        assert sum(bool(card.labels) for card in cards) >= 12
        assert len({person.id for card in cards for person in card.assignees}) >= 3
        today = date.today()
        assert any(card.due_date and card.due_date < today for card in cards)  # overdue
        assert any(card.due_date and 0 <= (card.due_date - today).days <= 2 for card in cards)  # due soon
        assert any(card.start_date for card in cards)
        assert sum("**" in card.description or "\n- " in card.description for card in cards) >= 2
        items = db.session.scalars(select(ChecklistItem)).all()
        assert len({item.card_id for item in items}) >= 3 and any(item.done for item in items) and not all(item.done for item in items)
        comments = db.session.scalars(select(Comment)).all()
        assert len(comments) >= 5 and any("@" in comment.body for comment in comments)
        assert len({comment.author_id for comment in comments}) >= 3
        (attachment,) = db.session.scalars(select(Attachment)).all()
        assert attachment.is_image and attachment.content_type == "image/png"
        assert storage.blob_path(attachment.sha256).read_bytes().startswith(b"\x89PNG")
        assert storage.thumbnail_path(attachment.sha256).exists()  # the card's cover
        assert count(Activity) >= 20


def test_the_demo_board_and_its_card_render(app):
    app.test_cli_runner().invoke(args=["seed-demo"])
    client = app.test_client()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                      client.get("/login").get_data(as_text=True)).group(1)
    client.post("/login", data={"email": DEMO_EMAIL, "password": DEMO_PASSWORD, "csrf_token": token})
    boards = client.get("/boards/").get_data(as_text=True)
    assert "Product launch" in boards and "4 members" in boards
    with app.app_context():
        board = db.session.scalar(select(Board))
        card = db.session.scalar(select(Card).where(Card.title == "Design the new landing page"))
        board_id, card_id = board.id, card.id
    page = client.get(f"/boards/{board_id}").get_data(as_text=True)
    assert "overdue" in page and "due soon" in page and 'class="cover"' in page and "label-red" in page
    detail = client.get(f"/boards/{board_id}/cards/{card_id}").get_data(as_text=True)
    assert "<strong>one promise</strong>" in detail and "landing-page-mockup.png" in detail
    with app.app_context():
        attachment_id = db.session.scalar(select(Attachment.id))
    assert client.get(f"/boards/{board_id}/attachments/{attachment_id}/thumbnail").status_code == 200


def test_seed_demo_twice_reuses_the_demo_team(app):
    runner = app.test_cli_runner()
    runner.invoke(args=["seed-demo"])
    runner.invoke(args=["seed-demo"])
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Board)) == 2
        assert db.session.scalar(select(func.count()).select_from(User)) == 4
