import re
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import func, select, text

from webapp.cli import DEMO_EMAIL, DEMO_PASSWORD
from webapp.extensions import db
from webapp.models import Board, Card, User


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
