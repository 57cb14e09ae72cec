"""Members of a board and their roles; invitations by email, and joining through them.

Owners invite (by email), change roles and remove members; anyone can leave a board,
except its last owner. `/boards/<id>/members` and `/boards/<id>/invitations` live here,
and so does the link in the invitation email, `/invitation?token=...`.
"""
from datetime import timedelta

from flask import (Blueprint, abort, current_app, flash, g, redirect, render_template, request, session,
                   url_for)
from flask_login import current_user
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import delete, select
from sqlalchemy.orm import contains_eager, selectinload

from . import live
from .activity import record
from .auth import PENDING_INVITATION, require_login
from .boards import get_board_or_404
from .extensions import db
from .forms import InviteForm, RoleForm
from .hypermedia import invalid, page_or_partial, updated, wants_fragment
from .mail import external_url, send_mail
from .models import Board, BoardMember, Card, Invitation, User, card_assignees, utcnow

bp = Blueprint("members", __name__)

INVITATION_MAX_AGE = timedelta(days=7)
INVITATION_SALT = "corkboard.invitation"


@bp.before_request
def login_first():
    """Every page here needs an account, except the invitation link: it explains itself first."""
    if request.endpoint != "members.invitation":
        return require_login()


def members_url(board: Board) -> str:
    return url_for("members.index", board_id=board.id)


# --- The members page -------------------------------------------------------------------

def members_context(board: Board, invite_form: InviteForm | None = None) -> dict:
    """What the members page shows: everyone's role, and for owners the invitations."""
    members = db.session.scalars(
        select(BoardMember).join(BoardMember.user).options(contains_eager(BoardMember.user))
        .where(BoardMember.board_id == board.id).order_by(User.name, User.id)
    ).all()
    context = {"board": board, "members": members,
               "owner_count": sum(member.role == "owner" for member in members)}
    if g.board_role == "owner":
        context.update(invitations=pending_invitations(board), form=invite_form or InviteForm(formdata=None))
    return context


def pending_invitations(board: Board) -> list[Invitation]:
    return db.session.scalars(
        select(Invitation).options(selectinload(Invitation.invited_by))
        .where(Invitation.board_id == board.id, Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None),
               Invitation.created_at > utcnow() - INVITATION_MAX_AGE)
        .order_by(Invitation.created_at.desc(), Invitation.id.desc())
    ).all()


@bp.get("/boards/<int:board_id>/members")
def index(board_id: int):
    board = get_board_or_404(board_id)
    return page_or_partial("members.html", "partials/member_list.html", **members_context(board))


def member_of(board: Board, member_id: int) -> BoardMember:
    member = db.session.get(BoardMember, member_id)
    if member is None or member.board_id != board.id:
        abort(404, "No such member of this board.")
    return member


def other_owners(board: Board, member: BoardMember) -> list[int]:
    """The board's owners besides `member`, locked so two owners cannot step down at once."""
    return db.session.scalars(
        select(BoardMember.user_id).where(BoardMember.board_id == board.id, BoardMember.role == "owner",
                                          BoardMember.id != member.id).with_for_update()
    ).all()


def ensure_another_owner(board: Board, member: BoardMember, action: str) -> None:
    """A board always keeps an owner. When `member` stops being one, the board's
    recorded owner passes to one who stays."""
    if member.role != "owner":
        return
    owners = other_owners(board, member)
    if not owners:
        who = "You are" if member.user_id == current_user.id else f"{member.user.name} is"
        abort(409, f"{who} the board's only owner and cannot {action}. Make another member an owner first.")
    if board.owner_id == member.user_id:
        board.owner_id = owners[0]


BECOME = {"viewer": "become a viewer", "editor": "become an editor"}


@bp.route("/boards/<int:board_id>/members/<int:member_id>", methods=["PUT", "PATCH"])
def change_role(board_id: int, member_id: int):
    board = get_board_or_404(board_id, "owner")
    member = member_of(board, member_id)
    form = RoleForm()
    if not form.validate():
        abort(422, " ".join(form.role.errors) or "Choose viewer, editor or owner.")
    if form.role.data != member.role:
        if form.role.data != "owner":
            ensure_another_owner(board, member, BECOME[form.role.data])
        record(board.id, "member.role_changed", member=member.user.name, role=form.role.data)
        member.role = form.role.data
        db.session.commit()
        live.revoke(board.id, member.user_id)  # their open board reloads with what the new role shows
    if member.user_id == current_user.id and member.role != "owner":
        # You stepped down: the page loses its owner's controls, so reload it whole.
        if wants_fragment():
            return "", 200, {"HX-Redirect": members_url(board)}
        return redirect(members_url(board), 303)
    return updated("partials/member_list.html", members_url(board), **members_context(board))


@bp.delete("/boards/<int:board_id>/members/<int:member_id>")
def remove(board_id: int, member_id: int):
    board = get_board_or_404(board_id, "owner")
    member = member_of(board, member_id)
    if member.user_id == current_user.id:
        return leave_board(board, member)
    ensure_another_owner(board, member, "be removed")
    record(board.id, "member.removed", member=member.user.name)
    user_id = member.user_id
    drop_membership(board, member)
    db.session.commit()
    live.revoke(board.id, user_id)  # their open board stops updating and reloads (to a 404)
    return updated("partials/member_list.html", members_url(board), **members_context(board))


@bp.delete("/boards/<int:board_id>/membership")
def leave(board_id: int):
    """Any member may leave, viewers too: leaving changes nothing on the board itself."""
    board = get_board_or_404(board_id)
    member = db.session.scalar(select(BoardMember).where(
        BoardMember.board_id == board.id, BoardMember.user_id == current_user.id))
    return leave_board(board, member)


def leave_board(board: Board, member: BoardMember):
    ensure_another_owner(board, member, "leave")
    record(board.id, "member.left")
    drop_membership(board, member)
    db.session.commit()
    live.revoke(board.id, current_user.id)  # the board open in their other tabs, too
    flash(f"You left the board “{board.title}”.", "info")
    if wants_fragment():
        return "", 200, {"HX-Redirect": url_for("boards.index")}
    return redirect(url_for("boards.index"), 303)


def drop_membership(board: Board, member: BoardMember) -> None:
    """Remove the membership, and the person from the board's cards they were assigned to."""
    db.session.execute(delete(card_assignees).where(
        card_assignees.c.user_id == member.user_id,
        card_assignees.c.card_id.in_(select(Card.id).where(Card.board_id == board.id))))
    db.session.delete(member)


# --- Inviting ---------------------------------------------------------------------------

def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=INVITATION_SALT)


def invitation_token(invitation: Invitation) -> str:
    return _serializer().dumps(invitation.id)


def already_member(board: Board, email: str) -> bool:
    return db.session.scalar(
        select(BoardMember.id).join(BoardMember.user).where(BoardMember.board_id == board.id, User.email == email)
    ) is not None


@bp.post("/boards/<int:board_id>/invitations")
def invite(board_id: int):
    board = get_board_or_404(board_id, "owner")
    form = InviteForm()
    if form.validate() and already_member(board, form.email.data):
        form.email.errors.append(f"{form.email.data} is already a member of this board.")
    if form.errors:
        return invalid(form, "partials/invitation_form.html", "Invite someone", board=board)
    withdraw_pending(board, form.email.data)  # a new invitation replaces an unanswered one
    invitation = Invitation(board_id=board.id, email=form.email.data, role=form.role.data,
                            invited_by_id=current_user.id)
    db.session.add(invitation)
    db.session.flush()
    record(board.id, "member.invited", email=invitation.email, role=invitation.role)
    db.session.commit()
    # After the commit: an email never points at an invitation that was not saved. It leaves
    # through the outbox, after this response.
    send_invitation(board, invitation)
    if not wants_fragment():
        flash(f"Invitation sent to {invitation.email}.", "success")
    return updated("partials/invitation_created.html", members_url(board), board=board,
                   form=InviteForm(formdata=None), invitations=pending_invitations(board), sent_to=invitation.email)


def withdraw_pending(board: Board, email: str) -> None:
    for invitation in db.session.scalars(select(Invitation).where(
            Invitation.board_id == board.id, Invitation.email == email,
            Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None))):
        invitation.revoked_at = utcnow()


def send_invitation(board: Board, invitation: Invitation) -> None:
    send_mail(invitation.email, f"{current_user.name} invited you to “{board.title}” on Corkboard", "invitation",
              inviter=current_user.name, board=board, role=invitation.role, days=INVITATION_MAX_AGE.days,
              link=external_url("members.invitation", token=invitation_token(invitation)))


@bp.delete("/boards/<int:board_id>/invitations/<int:invitation_id>")
def revoke(board_id: int, invitation_id: int):
    board = get_board_or_404(board_id, "owner")
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None or invitation.board_id != board.id:
        abort(404, "No such invitation.")
    if invitation.accepted_at is not None:
        abort(409, f"{invitation.email} has already accepted this invitation. "
                   "Remove them from the members instead.")
    if invitation.revoked_at is None:
        invitation.revoked_at = utcnow()
        record(board.id, "invitation.revoked", email=invitation.email)
        db.session.commit()
    return updated("partials/invitation_list.html", members_url(board), board=board,
                   invitations=pending_invitations(board))


# --- Accepting: the link in the email ---------------------------------------------------

class InvitationProblem(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def load_invitation(token: str, for_update: bool = False) -> Invitation:
    """The invitation a link stands for, if it can still be accepted; InvitationProblem says why not."""
    ask = "Ask the board's owner to invite you again."
    try:
        invitation_id = _serializer().loads(token, max_age=int(INVITATION_MAX_AGE.total_seconds()))
    except SignatureExpired:
        raise InvitationProblem(410, f"This invitation has expired: invitations are valid for "
                                     f"{INVITATION_MAX_AGE.days} days. {ask}")
    except BadSignature:
        raise InvitationProblem(400, "This invitation link is not valid. Check that you opened the whole "
                                     "link from the email.")
    invitation = db.session.get(Invitation, invitation_id, with_for_update=for_update)
    if invitation is None:
        raise InvitationProblem(410, f"This invitation no longer exists: the board may have been deleted. {ask}")
    if invitation.revoked_at is not None:
        raise InvitationProblem(410, f"This invitation was withdrawn. {ask}")
    if invitation.accepted_at is not None:
        raise InvitationProblem(410, "This invitation has already been used. If it was you, the board is "
                                     "in your list of boards.")
    return invitation


@bp.route("/invitation", methods=["GET", "POST"])
def invitation():
    token = request.args.get("token", "")
    try:
        invitation = load_invitation(token, for_update=request.method == "POST")
    except InvitationProblem as problem:
        return render_template("invitation.html", problem=problem.message), problem.status
    if not current_user.is_authenticated:
        # Signing up from the login page joins the board straight away (auth.signup).
        session[PENDING_INVITATION] = token
        flash(f"You are invited to the board “{invitation.board.title}”. Log in to accept, "
              "or, new to Corkboard, create an account.", "info")
        return redirect(url_for("auth.login", next=request.full_path))
    if session.get(PENDING_INVITATION) == token:
        session.pop(PENDING_INVITATION)
    if not meant_for(invitation, current_user.email):
        # Whoever holds the link is not who it was sent to: a forwarded or leaked link lets
        # nobody else in. The page names the address only by its first letter and its domain.
        return render_template("invitation.html", wrong_account=True, invitation=invitation,
                               invited=masked(invitation.email)), 403
    membership = db.session.scalar(select(BoardMember).where(
        BoardMember.board_id == invitation.board_id, BoardMember.user_id == current_user.id))
    if request.method == "POST":
        board_url = join_through_invitation(invitation)
        db.session.commit()
        return redirect(board_url, 303)
    return render_template("invitation.html", invitation=invitation, token=token, membership=membership)


def meant_for(invitation: Invitation, email: str) -> bool:
    return invitation.email.casefold() == (email or "").casefold()


def masked(email: str) -> str:
    """ada@example.com -> a…@example.com: enough for the right person to recognise it."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}…@{domain}"


def invitation_for_signup() -> Invitation | None:
    """The invitation someone opened before signing up, if it still stands."""
    token = session.get(PENDING_INVITATION)
    if not token:
        return None
    try:
        invitation = load_invitation(token)
    except InvitationProblem as problem:
        session.pop(PENDING_INVITATION, None)
        flash(problem.message, "error")
        return None
    if request.method == "GET":
        flash(f"Create your account to join “{invitation.board.title}” as {invitation.role}.", "info")
    return invitation


def join_through_invitation(invitation: Invitation) -> str:
    """The current user accepts: joins with the invited role (a member keeps theirs).
    Adds to the session, the caller commits. Returns the board's URL.

    Only the invited address can accept: someone who signs up through the link with another
    address gets their account, not the board (the invitation stays open for its owner)."""
    board = invitation.board
    session.pop(PENDING_INVITATION, None)
    if not meant_for(invitation, current_user.email):
        flash(f"The invitation to “{board.title}” is for {masked(invitation.email)}, so it was not used. "
              "Log in with that address to accept it.", "error")
        return url_for("boards.index")
    invitation.accepted_at = utcnow()
    member = db.session.scalar(select(BoardMember).where(
        BoardMember.board_id == board.id, BoardMember.user_id == current_user.id))
    if member is not None:
        flash(f"You are already a member of “{board.title}”, as {member.role}.", "info")
    else:
        db.session.add(BoardMember(board_id=board.id, user_id=current_user.id, role=invitation.role))
        record(board.id, "member.joined", role=invitation.role)
        flash(f"You joined “{board.title}” as {invitation.role}.", "success")
    return url_for("boards.show", board_id=board.id)
