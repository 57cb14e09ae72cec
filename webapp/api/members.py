"""/api/v1/boards/<id>/members and …/invitations: who is on a board, with which role; invite by
email, withdraw an invitation. Members are listed to every member; changes are the owners'."""
from flask_smorest import Blueprint
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..access import as_utc, get_board_or_404, member_of
from ..extensions import db
from ..models import BoardMember, Invitation, User
from ..operations import members as member_operations
from ..operations.errors import NotFound
from . import schemas
from .auth import actor, load_actor

blp = Blueprint("api_members", __name__, description="A board's members and invitations")
blp.before_request(load_actor)
MEMBERS = "/boards/<int:board_id>/members"
INVITATIONS = "/boards/<int:board_id>/invitations"


def member_body(member: BoardMember) -> dict:
    return {"id": member.id, "user": {"id": member.user.id, "name": member.user.name}, "role": member.role}


def invitation_body(invitation: Invitation) -> dict:
    return {"id": invitation.id, "email": invitation.email, "role": invitation.role,
            "created_at": as_utc(invitation.created_at)}


@blp.get(MEMBERS)
@blp.response(200, schemas.MemberListSchema)
def list_members(board_id: int):
    board = get_board_or_404(board_id, user=actor())
    members = db.session.scalars(select(BoardMember).join(User).where(BoardMember.board_id == board.id)
                                 .options(selectinload(BoardMember.user)).order_by(User.name, User.id))
    return {"items": [member_body(member) for member in members]}


@blp.patch(MEMBERS + "/<int:member_id>")
@blp.arguments(schemas.RoleSchema)
@blp.response(200, schemas.MemberSchema)
def change_role(data, board_id: int, member_id: int):
    """Make the member a viewer, editor or owner (409 for the board's last owner)."""
    board = get_board_or_404(board_id, "owner", user=actor())
    return member_body(member_operations.change_role(member_of(board, member_id), data["role"], actor=actor()))


@blp.delete(MEMBERS + "/<int:member_id>")
@blp.response(204)
def remove_member(board_id: int, member_id: int):
    """Take someone off the board (409 for the board's last owner)."""
    board = get_board_or_404(board_id, "owner", user=actor())
    member_operations.remove_member(member_of(board, member_id), actor=actor())


@blp.get(INVITATIONS)
@blp.response(200, schemas.InvitationListSchema)
def list_invitations(board_id: int):
    """Invitations not yet answered (owners only)."""
    board = get_board_or_404(board_id, "owner", user=actor())
    return {"items": [invitation_body(invitation) for invitation in member_operations.pending_invitations(board)]}


@blp.post(INVITATIONS)
@blp.arguments(schemas.InvitationCreateSchema)
@blp.response(201, schemas.InvitationSchema)
def invite(data, board_id: int):
    """Email someone an invitation to the board with a role; it replaces one they have not answered."""
    board = get_board_or_404(board_id, "owner", user=actor())
    return invitation_body(member_operations.invite(board, data["email"], data["role"], actor=actor()))


@blp.delete(INVITATIONS + "/<int:invitation_id>")
@blp.response(204)
def revoke_invitation(board_id: int, invitation_id: int):
    """Withdraw an invitation (409 once accepted)."""
    board = get_board_or_404(board_id, "owner", user=actor())
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None or invitation.board_id != board.id:
        raise NotFound("No such invitation.")
    member_operations.revoke_invitation(invitation, actor=actor())
