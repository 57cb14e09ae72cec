"""The layers hold: blueprints import the board operations and the helpers beneath them, never
each other; the operations import no blueprint and answer no request themselves."""
import ast
from pathlib import Path

import pytest

from tests.conftest import card_titles, column_titles, make_board
from webapp.extensions import db
from webapp.models import Activity, BoardColumn, BoardMember, Card, User
from webapp.operations import cards as card_operations
from webapp.operations import columns as column_operations
from webapp.operations.errors import Conflict, Invalid, NotFound
from webapp.operations.events import board_changed

WEBAPP = Path(__file__).resolve().parent.parent / "webapp"


def module_name(path: Path) -> str:
    return ".".join(("webapp", *path.relative_to(WEBAPP).with_suffix("").parts)).removesuffix(".__init__")


def parsed(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def is_blueprint_module(tree: ast.Module) -> bool:
    """A feature's module: `bp = Blueprint(...)` at its top (webapp/mail.py's dev mailbox is a service's)."""
    return any(isinstance(node, ast.Assign) and any(isinstance(target, ast.Name) and target.id == "bp"
                                                    for target in node.targets)
               and isinstance(node.value, ast.Call) and getattr(node.value.func, "id", None) == "Blueprint"
               for node in tree.body)


def imported_modules(module: str, tree: ast.Module, is_package: bool = False) -> set[str]:
    """Every module an import statement names, anywhere in the file (inside functions too),
    and for `from x import y` also `x.y`, which may be a module."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = module.split(".") if is_package else module.split(".")[:-1]
                base = ".".join(package[:len(package) - node.level + 1] + ([node.module] if node.module else []))
            else:
                base = node.module
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


MODULES = {module_name(path): (path, parsed(path)) for path in WEBAPP.rglob("*.py")}
BLUEPRINTS = {name for name, (_path, tree) in MODULES.items() if is_blueprint_module(tree)}
OPERATIONS = {name: tree for name, (_path, tree) in MODULES.items() if name.startswith("webapp.operations")}


def test_the_check_finds_the_blueprints_and_the_operations():
    assert {"webapp.cards", "webapp.columns", "webapp.boards", "webapp.auth", "webapp.members"} <= BLUEPRINTS
    assert {"webapp.operations.cards", "webapp.operations.columns", "webapp.operations.errors",
            "webapp.operations.events"} <= set(OPERATIONS)
    # and would see a blueprint importing another, however it is written
    tree = ast.parse("from .boards import get_board_or_404\nfrom . import cards\n"
                     "def view():\n    from webapp.members import invite\n")
    assert {"webapp.boards", "webapp.cards", "webapp.members"} <= imported_modules("webapp.labels", tree)


@pytest.mark.parametrize("blueprint", sorted(BLUEPRINTS))
def test_no_blueprint_imports_another(blueprint):
    path, tree = MODULES[blueprint]
    others = (imported_modules(blueprint, tree) & BLUEPRINTS) - {blueprint}
    assert not others, f"{path.name} imports the blueprint module(s) {sorted(others)}: import webapp.access, " \
                       "webapp.operations or webapp.queries instead"


@pytest.mark.parametrize("module", sorted(OPERATIONS))
def test_operations_import_no_blueprint_and_answer_no_request(module):
    path, tree = MODULES[module]
    is_package = path.name == "__init__.py"
    assert not imported_modules(module, tree, is_package) & BLUEPRINTS
    flask_names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                   and node.module == "flask" for alias in node.names}
    assert not flask_names & {"request", "render_template", "render_template_string", "redirect", "abort",
                              "make_response", "flash", "session"}, path.name


# --- the operations as the API and the importer call them: any actor, plain errors ---------

@pytest.fixture
def signals():
    """Every board_changed the test causes, as (board_id, activities, actor)."""
    received = []

    def receiver(_app, board_id, activities, actor):
        received.append((board_id, activities, actor))

    with board_changed.connected_to(receiver):
        yield received


def test_an_operation_changes_records_commits_and_then_signals_once(app, ada, signals):
    with app.test_request_context():  # no one logged in: the actor is given, as an API token's user would be
        actor = db.session.scalar(db.select(User).where(User.email == "ada@example.com"))
        card, done = db.session.get(Card, ada.board.cards["Two"]), db.session.get(BoardColumn, ada.board.columns["Done"])
        card_operations.move_card(card, done, 0, actor=actor)
        assert not db.session.dirty and not db.session.new  # committed
        latest = db.session.scalars(db.select(Activity).order_by(Activity.id.desc())).first()
        assert (latest.verb, latest.card_id, latest.actor_id) == ("card.moved", card.id, actor.id)
    assert card_titles(app, ada.board.id, "Done") == ["Two"]
    [(board_id, [recorded], who)] = signals
    assert (board_id, who) == (ada.board.id, actor)
    assert (recorded.id, recorded.verb, recorded.card_id) == (latest.id, "card.moved", card.id)
    assert recorded.details == {"card": "Two", "source": "To do", "target": "Done"}


def test_a_change_made_against_an_old_version_is_refused_with_the_fresh_card(app, ada, signals):
    with app.test_request_context():
        actor = db.session.scalar(db.select(User).where(User.email == "ada@example.com"))
        card = db.session.get(Card, ada.board.cards["One"])
        version = card.version
        card_operations.edit_card(card, title="One, renamed", description="", actor=actor, expected_version=version)
        with pytest.raises(Conflict) as refused:
            card_operations.edit_card(card, title="One, again", description="", actor=actor,
                                      expected_version=version)
        assert refused.value.code == 409 and refused.value.fresh is card
        assert "its title is now “One, renamed”" in refused.value.message
        db.session.rollback()
    assert card_titles(app, ada.board.id, "To do") == ["One, renamed", "Two", "Three"]
    assert len(signals) == 1


def test_bad_input_is_refused_field_by_field_and_nothing_is_saved(app, ada, signals):
    with app.test_request_context():
        actor = db.session.scalar(db.select(User).where(User.email == "ada@example.com"))
        column = db.session.get(BoardColumn, ada.board.columns["Doing"])
        with pytest.raises(Invalid) as blank:
            card_operations.create_card(column, "   ", actor=actor)
        with pytest.raises(Invalid) as long:
            column_operations.rename_column(column, "x" * 201, actor=actor)
        with pytest.raises(Invalid) as negative:
            card_operations.move_card(db.session.get(Card, ada.board.cards["One"]), column, -1, actor=actor)
        assert (blank.value.code, blank.value.errors) == (422, {"title": "Give it a title."})
        assert long.value.errors == {"title": "Keep it under 200 characters."}
        assert list(negative.value.errors) == ["position"]
        db.session.rollback()
    assert card_titles(app, ada.board.id, "Doing") == []
    assert column_titles(app, ada.board.id) == ["To do", "Doing", "Done"]
    assert signals == []


def test_a_card_cannot_be_moved_to_another_boards_column(app, ada):
    with app.test_request_context():
        actor = db.session.scalar(db.select(User).where(User.email == "ada@example.com"))
        other = make_board(actor, "Elsewhere")
        with pytest.raises(NotFound):
            card_operations.move_card(db.session.get(Card, ada.board.cards["One"]), other.columns[0], 0, actor=actor)
        db.session.rollback()
    assert card_titles(app, ada.board.id, "To do") == ["One", "Two", "Three"]


def test_a_failing_receiver_does_not_undo_or_fail_a_saved_change(app, ada, caplog):
    def broken(_app, **_change):
        raise RuntimeError("webhook queue down")

    with board_changed.connected_to(broken):
        response = ada.hx("POST", f"{ada.board.column_url('Doing')}/cards", {"title": "Saved anyway"})
    assert response.status_code == 200
    assert "Saved anyway" in response.get_data(as_text=True)
    assert card_titles(app, ada.board.id, "Doing") == ["Saved anyway"]
    assert "A receiver of board_changed failed" in caplog.text


def test_access_checks_the_actor_it_is_given(app, ada, bob):
    from werkzeug.exceptions import Forbidden, NotFound as Missing

    from webapp.access import get_board_or_404
    with app.test_request_context():
        stranger = db.session.scalar(db.select(User).where(User.email == "bob@example.com"))
        owner = db.session.scalar(db.select(User).where(User.email == "ada@example.com"))
        assert get_board_or_404(ada.board.id, "owner", user=owner).id == ada.board.id
        with pytest.raises(Missing):
            get_board_or_404(ada.board.id, user=stranger)
        db.session.add(BoardMember(board_id=ada.board.id, user_id=stranger.id, role="viewer"))
        db.session.commit()
        assert get_board_or_404(ada.board.id, user=stranger).id == ada.board.id
        with pytest.raises(Forbidden):
            get_board_or_404(ada.board.id, "editor", user=stranger)


def test_the_last_owner_cannot_step_down_whoever_asks(app, ada, signals):
    from webapp.operations import members as member_operations
    with app.test_request_context():
        owner = db.session.scalar(db.select(User).where(User.email == "ada@example.com"))
        membership = db.session.scalar(db.select(BoardMember).where(BoardMember.user_id == owner.id))
        with pytest.raises(Conflict) as refused:
            member_operations.change_role(membership, "editor", actor=owner)
        assert refused.value.code == 409
        assert refused.value.message.startswith("You are the board's only owner and cannot become an editor.")
        db.session.rollback()
        assert db.session.get(BoardMember, membership.id).role == "owner"
    assert signals == []


def test_a_card_takes_only_its_own_boards_labels(app, ada):
    from webapp.operations import labels as label_operations
    with app.test_request_context():
        actor = db.session.scalar(db.select(User).where(User.email == "ada@example.com"))
        other = make_board(actor, "Elsewhere")
        foreign = label_operations.create_label(other, "Urgent", "red", actor=actor)
        card = db.session.get(Card, ada.board.cards["One"])
        with pytest.raises(Invalid) as refused:
            label_operations.add_label(card, foreign, actor=actor)
        assert list(refused.value.errors) == ["labels"]
        db.session.rollback()
        assert db.session.get(Card, ada.board.cards["One"]).labels == []
