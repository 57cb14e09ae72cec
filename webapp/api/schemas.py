"""What the API reads and writes, as marshmallow schemas (the OpenAPI document is built from them)."""
from flask_smorest.fields import Upload
from marshmallow import Schema, ValidationError, fields, validate

from ..models import BOARD_COLORS, TITLE_MAX

MAX_PAGE = 200


class Text(fields.String):
    """A string as a JSON body sends it, refused with U+0000 (PostgreSQL cannot store it),
    as webapp/security.py refuses it in forms and query strings."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in text:
            raise ValidationError("Text cannot contain the NUL character (U+0000).")
        return text


class ProblemSchema(Schema):
    type = fields.String(metadata={"description": "about:blank"})
    title = fields.String(metadata={"description": "The HTTP status's name"})
    status = fields.Integer()
    detail = fields.String(metadata={"description": "What went wrong, in words"})
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                         metadata={"description": "422 only: each field with what is wrong with it"})
    fresh = fields.Dict(metadata={"description": "409/412 on a card: the card as it now is"})


class PageQuery(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(1, MAX_PAGE))
    cursor = Text(validate=validate.Length(max=200),
                           metadata={"description": "`next_cursor` of the previous page"})


class PageSchema(Schema):
    next_cursor = fields.String(allow_none=True, metadata={"description": "null on the last page"})


# --- Boards ---------------------------------------------------------------------------------

class BoardSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    color = fields.String()
    role = fields.String(metadata={"description": "Your role on it: viewer, editor or owner"})
    created_at = fields.DateTime()


class BoardPageSchema(PageSchema):
    items = fields.List(fields.Nested(BoardSchema))


class BoardCreateSchema(Schema):
    title = Text(required=True, validate=validate.Length(max=TITLE_MAX))
    color = Text(load_default="blue", validate=validate.OneOf(BOARD_COLORS))


class BoardPatchSchema(Schema):
    title = Text(validate=validate.Length(max=TITLE_MAX))
    color = Text(validate=validate.OneOf(BOARD_COLORS))


# --- Columns --------------------------------------------------------------------------------

class ColumnSchema(Schema):
    id = fields.Integer()
    board_id = fields.Integer()
    title = fields.String()
    wip_limit = fields.Integer(allow_none=True)
    archived = fields.Boolean()


class ColumnListSchema(Schema):
    items = fields.List(fields.Nested(ColumnSchema))


class ColumnQuery(Schema):
    archived = fields.Boolean(load_default=False, metadata={"description": "The archived columns instead"})


class ColumnCreateSchema(Schema):
    title = Text(required=True, validate=validate.Length(max=TITLE_MAX))


class ColumnPatchSchema(Schema):
    title = Text(validate=validate.Length(max=TITLE_MAX))
    wip_limit = fields.Integer(allow_none=True, validate=validate.Range(0, 999),
                               metadata={"description": "null or 0: no limit"})


class PositionSchema(Schema):
    position = fields.Integer(required=True, validate=validate.Range(0, 100_000),
                              metadata={"description": "From 0"})


# --- Cards ----------------------------------------------------------------------------------

class CardSchema(Schema):
    id = fields.Integer()
    board_id = fields.Integer()
    column_id = fields.Integer()
    title = fields.String()
    description = fields.String()
    start_date = fields.Date(allow_none=True)
    due_date = fields.Date(allow_none=True)
    archived = fields.Boolean()
    version = fields.Integer(metadata={"description": "Also the card's ETag"})
    label_ids = fields.List(fields.Integer())
    assignee_ids = fields.List(fields.Integer())
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class CardPageSchema(PageSchema):
    items = fields.List(fields.Nested(CardSchema))


class CardQuery(PageQuery):
    q = Text(validate=validate.Length(max=200), metadata={"description": "Words in the title or description"})
    label = fields.List(fields.Integer(validate=validate.Range(1, 2**31 - 1)),
                        metadata={"description": "Cards with any of these labels"})
    assignee = fields.List(fields.Integer(validate=validate.Range(1, 2**31 - 1)),
                           metadata={"description": "Cards assigned to any of these people"})
    due = Text(validate=validate.OneOf(["overdue", "week", "none"]))
    archived = fields.Boolean(load_default=False, metadata={"description": "The board's archived cards instead"})


class CardCreateSchema(Schema):
    column_id = fields.Integer(required=True, validate=validate.Range(1, 2**31 - 1))
    title = Text(required=True, validate=validate.Length(max=TITLE_MAX))


class CardPatchSchema(Schema):
    title = Text(validate=validate.Length(max=TITLE_MAX))
    description = Text()
    start_date = fields.Date(allow_none=True)
    due_date = fields.Date(allow_none=True)


class CardMoveSchema(PositionSchema):
    column_id = fields.Integer(required=True, validate=validate.Range(1, 2**31 - 1))


# --- Labels and assignees -------------------------------------------------------------------

class LabelSchema(Schema):
    id = fields.Integer()
    board_id = fields.Integer()
    name = fields.String()
    color = fields.String()


class LabelListSchema(Schema):
    items = fields.List(fields.Nested(LabelSchema))


class LabelCreateSchema(Schema):
    name = Text(load_default="", validate=validate.Length(max=200))
    color = Text(required=True, validate=validate.Length(max=20))


class LabelPatchSchema(Schema):
    name = Text(validate=validate.Length(max=200))
    color = Text(validate=validate.Length(max=20))


ID = fields.Integer(validate=validate.Range(1, 2**31 - 1))


class CardLabelsSchema(Schema):
    label_ids = fields.List(ID, required=True, validate=validate.Length(max=200))


class CardAssigneesSchema(Schema):
    user_ids = fields.List(ID, required=True, validate=validate.Length(max=200))


class PersonSchema(Schema):
    id = fields.Integer()
    name = fields.String()


class PersonListSchema(Schema):
    items = fields.List(fields.Nested(PersonSchema))


# --- Checklists and comments ----------------------------------------------------------------

class ChecklistItemSchema(Schema):
    id = fields.Integer()
    card_id = fields.Integer()
    text = fields.String()
    done = fields.Boolean()


class ChecklistSchema(Schema):
    items = fields.List(fields.Nested(ChecklistItemSchema))


class ChecklistItemCreateSchema(Schema):
    text = Text(required=True, validate=validate.Length(max=TITLE_MAX))


class ChecklistItemPatchSchema(Schema):
    done = fields.Boolean(required=True)


class CommentSchema(Schema):
    id = fields.Integer()
    card_id = fields.Integer()
    author = fields.Nested(PersonSchema, allow_none=True)
    body = fields.String()
    created_at = fields.DateTime()
    edited_at = fields.DateTime(allow_none=True)


class CommentPageSchema(PageSchema):
    items = fields.List(fields.Nested(CommentSchema))


class CommentWriteSchema(Schema):
    body = Text(required=True, validate=validate.Length(max=20_000))


# --- Members, invitations, activity ---------------------------------------------------------

class MemberSchema(Schema):
    id = fields.Integer()
    user = fields.Nested(PersonSchema)
    role = fields.String()


class MemberListSchema(Schema):
    items = fields.List(fields.Nested(MemberSchema))


class RoleSchema(Schema):
    role = Text(required=True, validate=validate.Length(max=10))


class InvitationSchema(Schema):
    id = fields.Integer()
    email = fields.String()
    role = fields.String()
    created_at = fields.DateTime()


class InvitationListSchema(Schema):
    items = fields.List(fields.Nested(InvitationSchema))


class InvitationCreateSchema(Schema):
    email = Text(required=True, validate=validate.Length(max=254))
    role = Text(load_default="editor", validate=validate.Length(max=10))


class ActivitySchema(Schema):
    id = fields.Integer()
    verb = fields.String()
    card_id = fields.Integer(allow_none=True)
    actor = fields.Nested(PersonSchema, allow_none=True)
    details = fields.Dict()
    created_at = fields.DateTime()


class ActivityPageSchema(PageSchema):
    items = fields.List(fields.Nested(ActivitySchema))


# --- Attachments ----------------------------------------------------------------------------

class AttachmentSchema(Schema):
    id = fields.Integer()
    card_id = fields.Integer()
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    is_image = fields.Boolean()
    created_at = fields.DateTime()
    download_url = fields.String()


class AttachmentListSchema(Schema):
    items = fields.List(fields.Nested(AttachmentSchema))


class UploadSchema(Schema):
    files = fields.List(Upload(), required=True, metadata={"description": "One or more files"})
