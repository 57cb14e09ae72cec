"""Members of a board and their roles; invitations by email, and joining through them.

Owners invite (by email), change roles and remove members; anyone can leave a board,
except its last owner. `/boards/<id>/members` and `/boards/<id>/invitations` live here,
and so does the link in the invitation email, `/invitation?token=...`.
"""
from flask import Blueprint, abort, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from .access import PENDING_INVITATION, get_board_or_404, member_of, require_login
from .extensions import db
from .forms import InviteForm, RoleForm
from .hypermedia import invalid, page_or_partial, updated, wants_fragment
from .models import Board, BoardMember, Invitation, User
from .operations import members as member_operations
from .operations.errors import Invalid
from .operations.members import (INVITATION_MAX_AGE, InvitationProblem, invitation_token,  # noqa: F401
                                 load_invitation, masked, meant_for, pending_invitations)

bp = Blueprint("members", __name__)


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


@bp.get("/boards/<int:board_id>/members")
def index(board_id: int):
    board = get_board_or_404(board_id)
    return page_or_partial("members.html", "partials/member_list.html", **members_context(board))


@bp.route("/boards/<int:board_id>/members/<int:member_id>", methods=["PUT", "PATCH"])
def change_role(board_id: int, member_id: int):
    board = get_board_or_404(board_id, "owner")
    member = member_of(board, member_id)
    form = RoleForm()
    if not form.validate():
        abort(422, " ".join(form.role.errors) or "Choose viewer, editor or owner.")
    member_operations.change_role(member, form.role.data, actor=current_user)  # Conflict: the last owner
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
    member_operations.remove_member(member, actor=current_user)
    return updated("partials/member_list.html", members_url(board), **members_context(board))


@bp.delete("/boards/<int:board_id>/membership")
def leave(board_id: int):
    """Any member may leave, viewers too: leaving changes nothing on the board itself."""
    board = get_board_or_404(board_id)
    member = db.session.scalar(select(BoardMember).where(
        BoardMember.board_id == board.id, BoardMember.user_id == current_user.id))
    return leave_board(board, member)


def leave_board(board: Board, member: BoardMember):
    title = board.title
    member_operations.leave_board(member, actor=current_user)
    flash(f"You left the board “{title}”.", "info")
    if wants_fragment():
        return "", 200, {"HX-Redirect": url_for("boards.index")}
    return redirect(url_for("boards.index"), 303)


@bp.post("/boards/<int:board_id>/invitations")
def invite(board_id: int):
    board = get_board_or_404(board_id, "owner")
    form = InviteForm()
    invitation = None
    try:
        if form.validate():
            invitation = member_operations.invite(board, form.email.data, form.role.data, actor=current_user)
    except Invalid as problem:
        form.email.errors.append(problem.errors.get("email", problem.message))
    if invitation is None:
        return invalid(form, "partials/invitation_form.html", "Invite someone", board=board)
    if not wants_fragment():
        flash(f"Invitation sent to {invitation.email}.", "success")
    return updated("partials/invitation_created.html", members_url(board), board=board,
                   form=InviteForm(formdata=None), invitations=pending_invitations(board), sent_to=invitation.email)


@bp.delete("/boards/<int:board_id>/invitations/<int:invitation_id>")
def revoke(board_id: int, invitation_id: int):
    board = get_board_or_404(board_id, "owner")
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None or invitation.board_id != board.id:
        abort(404, "No such invitation.")
    member_operations.revoke_invitation(invitation, actor=current_user)  # Conflict once accepted
    return updated("partials/invitation_list.html", members_url(board), board=board,
                   invitations=pending_invitations(board))


# --- Accepting: the link in the email ---------------------------------------------------

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
        return redirect(join_through_invitation(invitation), 303)
    return render_template("invitation.html", invitation=invitation, token=token, membership=membership)


def join_through_invitation(invitation: Invitation) -> str:
    """The current user, whom the invitation is for, accepts it: says so, and where to go next."""
    session.pop(PENDING_INVITATION, None)
    acceptance = member_operations.accept_invitation(invitation, actor=current_user)
    flash(acceptance.message, "success" if acceptance.joined else "info")
    return url_for("boards.show", board_id=acceptance.board_id)
