"""Members of a board and their roles; invitations by email, and joining through them.

Owners invite (by email), change roles and remove members; anyone can leave a board, except
its last owner.
"""
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import delete, select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..mail import external_url, send_mail
from ..models import Board, BoardMember, Card, Invitation, User, card_assignees, utcnow
from . import inputs, publish
from .activity import commit, record
from .errors import Conflict, Forbidden, Invalid

INVITATION_MAX_AGE = timedelta(days=7)
INVITATION_SALT = "corkboard.invitation"
BECOME = {"viewer": "become a viewer", "editor": "become an editor"}


# --- Roles and leaving --------------------------------------------------------------------

def other_owners(board: Board, member: BoardMember) -> list[int]:
    """The board's owners besides `member`, locked so two owners cannot step down at once."""
    return db.session.scalars(
        select(BoardMember.user_id).where(BoardMember.board_id == board.id, BoardMember.role == "owner",
                                          BoardMember.id != member.id).with_for_update()
    ).all()


def ensure_another_owner(board: Board, member: BoardMember, action: str, *, actor) -> None:
    """A board always keeps an owner (Conflict otherwise). When `member` stops being one, the
    board's recorded owner passes to one who stays."""
    if member.role != "owner":
        return
    owners = other_owners(board, member)
    if not owners:
        who = "You are" if member.user_id == actor.id else f"{member.user.name} is"
        raise Conflict(f"{who} the board's only owner and cannot {action}. Make another member an owner first.")
    if board.owner_id == member.user_id:
        board.owner_id = owners[0]


def change_role(member: BoardMember, role: str, *, actor) -> BoardMember:
    """Make the member a viewer, an editor or an owner; their open board reloads with what it now shows."""
    role = inputs.role(role)
    if role != member.role:
        board = member.board
        if role != "owner":
            ensure_another_owner(board, member, BECOME[role], actor=actor)
        record(board.id, "member.role_changed", actor=actor, member=member.user.name, role=role)
        member.role = role
        board_id, user_id = board.id, member.user_id
        commit(board_id, actor)
        publish.access_changed(board_id, user_id)
    return member


def remove_member(member: BoardMember, *, actor) -> None:
    """Someone else leaves the board, taken off its cards; their open board stops updating."""
    if member.user_id == actor.id:
        return leave_board(member, actor=actor)
    board = member.board
    ensure_another_owner(board, member, "be removed", actor=actor)
    record(board.id, "member.removed", actor=actor, member=member.user.name)
    board_id, user_id = board.id, member.user_id
    drop_membership(board, member)
    commit(board_id, actor)
    publish.access_changed(board_id, user_id)  # their open board reloads (to a 404)


def leave_board(member: BoardMember, *, actor) -> None:
    """`actor` leaves (any member may, viewers too), unless they are its last owner."""
    board = member.board
    ensure_another_owner(board, member, "leave", actor=actor)
    record(board.id, "member.left", actor=actor)
    board_id = board.id
    drop_membership(board, member)
    commit(board_id, actor)
    publish.access_changed(board_id, actor.id)  # the board open in their other tabs, too


def drop_membership(board: Board, member: BoardMember) -> None:
    """Remove the membership, and the person from the board's cards they were assigned to."""
    db.session.execute(delete(card_assignees).where(
        card_assignees.c.user_id == member.user_id,
        card_assignees.c.card_id.in_(select(Card.id).where(Card.board_id == board.id))))
    db.session.delete(member)


# --- Inviting -----------------------------------------------------------------------------

def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=INVITATION_SALT)


def invitation_token(invitation: Invitation) -> str:
    return _serializer().dumps(invitation.id)


def already_member(board: Board, email: str) -> bool:
    return db.session.scalar(
        select(BoardMember.id).join(BoardMember.user).where(BoardMember.board_id == board.id, User.email == email)
    ) is not None


def pending_invitations(board: Board) -> list[Invitation]:
    return db.session.scalars(
        select(Invitation).options(selectinload(Invitation.invited_by))
        .where(Invitation.board_id == board.id, Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None),
               Invitation.created_at > utcnow() - INVITATION_MAX_AGE)
        .order_by(Invitation.created_at.desc(), Invitation.id.desc())
    ).all()


def invite(board: Board, email: str, role: str, *, actor) -> Invitation:
    """Invite an address to the board with a role, by email; a new invitation replaces an
    unanswered one. Invalid when the address already belongs to a member."""
    email, role = (email or "").strip().lower(), inputs.role(role)
    if not email or "@" not in email or len(email) > 254:
        raise Invalid({"email": "That is not an email address."})
    if already_member(board, email):
        raise Invalid({"email": f"{email} is already a member of this board."})
    withdraw_pending(board, email)
    invitation = Invitation(board_id=board.id, email=email, role=role, invited_by_id=actor.id)
    db.session.add(invitation)
    db.session.flush()
    record(board.id, "member.invited", actor=actor, email=invitation.email, role=invitation.role)
    commit(board.id, actor)
    # After the commit: an email never points at an invitation that was not saved. It leaves
    # through the outbox, after this response.
    send_invitation(board, invitation, actor=actor)
    return invitation


def withdraw_pending(board: Board, email: str) -> None:
    for invitation in db.session.scalars(select(Invitation).where(
            Invitation.board_id == board.id, Invitation.email == email,
            Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None))):
        invitation.revoked_at = utcnow()


def send_invitation(board: Board, invitation: Invitation, *, actor) -> None:
    send_mail(invitation.email, f"{actor.name} invited you to “{board.title}” on Corkboard", "invitation",
              inviter=actor.name, board=board, role=invitation.role, days=INVITATION_MAX_AGE.days,
              link=external_url("members.invitation", token=invitation_token(invitation)))


def revoke_invitation(invitation: Invitation, *, actor) -> Invitation:
    """Withdraw an unanswered invitation (Conflict once it was accepted)."""
    if invitation.accepted_at is not None:
        raise Conflict(f"{invitation.email} has already accepted this invitation. "
                       "Remove them from the members instead.")
    if invitation.revoked_at is None:
        invitation.revoked_at = utcnow()
        record(invitation.board_id, "invitation.revoked", actor=actor, email=invitation.email)
        commit(invitation.board_id, actor)
    return invitation


# --- Accepting ----------------------------------------------------------------------------

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


def meant_for(invitation: Invitation, email: str) -> bool:
    return invitation.email.casefold() == (email or "").casefold()


def masked(email: str) -> str:
    """ada@example.com -> a…@example.com: enough for the right person to recognise it."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}…@{domain}"


@dataclass(frozen=True)
class Acceptance:
    """What accepting an invitation did: joined the board, or found the actor a member already."""
    board_id: int
    role: str
    joined: bool
    message: str


def accept_invitation(invitation: Invitation, *, actor) -> Acceptance:
    """`actor` accepts: joins with the invited role, or, already a member, keeps theirs. Only the
    invited address can accept (Forbidden otherwise: a forwarded link lets nobody else in)."""
    if not meant_for(invitation, actor.email):
        raise Forbidden(f"This invitation is for {masked(invitation.email)}.")
    board = invitation.board
    board_id, title = board.id, board.title
    invitation.accepted_at = utcnow()
    member = db.session.scalar(select(BoardMember).where(
        BoardMember.board_id == board_id, BoardMember.user_id == actor.id))
    if member is not None:
        acceptance = Acceptance(board_id, member.role, False, f"You are already a member of “{title}”, as {member.role}.")
    else:
        db.session.add(BoardMember(board_id=board_id, user_id=actor.id, role=invitation.role))
        record(board_id, "member.joined", actor=actor, role=invitation.role)
        acceptance = Acceptance(board_id, invitation.role, True, f"You joined “{title}” as {invitation.role}.")
    commit(board_id, actor)
    return acceptance
