"""Flask-WTF forms. Every form carries the CSRF token; HTMX sends it as a header."""
from flask_wtf import FlaskForm
from flask_wtf.file import FileRequired, MultipleFileField
from wtforms import (BooleanField, EmailField, HiddenField, IntegerField, PasswordField, SelectField, StringField,
                     TextAreaField)
from wtforms.validators import (DataRequired, Email, EqualTo, InputRequired, Length, NumberRange, Optional,
                                ValidationError)
from zxcvbn import zxcvbn

from .models import BOARD_COLORS, TITLE_MAX
from .security import MAX_ID

DESCRIPTION_MAX = 20_000


class TitleField(StringField):
    """A required, trimmed title of at most TITLE_MAX characters."""

    def __init__(self, label="Title", **kwargs):
        super().__init__(
            label,
            validators=[DataRequired("Give it a title."),
                        Length(max=TITLE_MAX, message=f"Keep it under {TITLE_MAX} characters.")],
            filters=[lambda value: value.strip() if isinstance(value, str) else value],
            render_kw={"maxlength": TITLE_MAX, "required": True, "autocomplete": "off"},
            **kwargs,
        )


class StrongPassword:
    """A password zxcvbn judges hard to guess (score 3 of 4 or more), knowing the account's own
    name and email address: `password`, `12345678` and `grace@example.com1` are refused, with
    zxcvbn's reason as the field's error. The form says what the password must not be built
    from through `password_context()`."""

    MIN_SCORE = 3
    CHECKED_LENGTH = 72  # zxcvbn's own limit: what comes after cannot make it weaker

    def __call__(self, form, field):
        if field.errors or not field.data:  # too short already says it
            return
        problem = password_problem(field.data, *form.password_context())
        if problem:
            raise ValidationError(problem)


def password_problem(password: str, *context: str | None) -> str | None:
    """Why zxcvbn finds this password easy to guess for an account with this name and address
    (None: it is strong enough). The forms and `flask create-user` both ask it."""
    result = zxcvbn(password[:StrongPassword.CHECKED_LENGTH], user_inputs=password_context(*context))
    if result["score"] >= StrongPassword.MIN_SCORE:
        return None
    if any(match.get("dictionary_name") == "user_inputs" for match in result["sequence"]):
        return "Don't build your password from your name or email address: it is the first thing someone would try."
    feedback = result["feedback"]
    return " ".join(filter(None, [
        "This password is too easy to guess.", feedback.get("warning"), *feedback.get("suggestions", []),
        "A few uncommon words together make a strong password." if not feedback.get("suggestions") else ""]))


def password_context(*words: str | None) -> list[str]:
    """What someone who knows the account would try first: the name and the address, whole
    and in pieces (`grace@example.com` → `grace`; `Grace Hopper` → `grace`, `hopper`, `gracehopper`)."""
    context = []
    for word in filter(None, words):
        word = word.strip().lower()
        context.append(word)
        if "@" in word:
            context.append(word.split("@", 1)[0])
        parts = word.split()
        if len(parts) > 1:
            context.extend(parts + ["".join(parts)])
    return context


def new_password_field(label: str = "Password") -> PasswordField:
    return PasswordField(label, validators=[
        DataRequired("Choose a password."),
        Length(min=8, max=200, message="Use at least 8 characters."),
        StrongPassword(),
    ])


class SignupForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Tell us your name."), Length(max=80)],
                       filters=[lambda v: v.strip() if v else v])
    email = EmailField("Email", validators=[DataRequired("An email address is needed."),
                                            Email("That is not an email address."), Length(max=254)],
                       filters=[lambda v: v.strip().lower() if v else v])
    password = new_password_field()
    confirm = PasswordField("Repeat password", validators=[EqualTo("password", "The passwords differ.")])

    def password_context(self):
        return [self.name.data, self.email.data]


class ConfirmSignupForm(FlaskForm):
    """The button on the page an emailed sign-up link opens: just the CSRF token."""


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired("Enter your email address.")],
                       filters=[lambda v: v.strip().lower() if v else v])
    password = PasswordField("Password", validators=[DataRequired("Enter your password.")])
    remember = BooleanField("Remember me")
    next = HiddenField()


class BoardForm(FlaskForm):
    """A board's name and colour. A request that sends no colour keeps the one the form starts with."""
    title = TitleField("Board name")
    color = SelectField("Colour", choices=list(BOARD_COLORS), default=BOARD_COLORS[0], validate_choice=True,
                        invalid_choice_message="Choose one of the colours offered.")


class ColumnForm(FlaskForm):
    title = TitleField("Column name")


class CardForm(FlaskForm):
    title = TitleField("Card title")


class CardEditForm(FlaskForm):
    title = TitleField("Title")
    description = TextAreaField("Description", validators=[
        Length(max=DESCRIPTION_MAX, message=f"Keep it under {DESCRIPTION_MAX} characters.")])
    version = HiddenField()


class MoveCardForm(FlaskForm):
    column_id = IntegerField("Column", validators=[
        InputRequired("Choose a column."), NumberRange(min=1, max=MAX_ID, message="There is no such column.")])
    position = IntegerField("Position", validators=[
        InputRequired("Choose a position."), NumberRange(min=0, message="Positions start at 1.")])


class MoveColumnForm(FlaskForm):
    position = IntegerField("Position", validators=[
        InputRequired("Choose a position."), NumberRange(min=0, message="Positions start at 1.")])


class WipLimitForm(FlaskForm):
    wip_limit = IntegerField("WIP limit", validators=[
        Optional(), NumberRange(min=1, max=999, message="Use a number from 1 to 999, or leave it empty.")])


# --- Members, invitations and password reset (members.py, auth.py) ---------------------------

from wtforms import SelectField  # noqa: E402  (kept with the forms that use it)
from wtforms.fields.choices import SelectChoice  # noqa: E402
from wtforms.validators import ValidationError  # noqa: E402

ROLE_LABELS = {"viewer": "Viewer (reads only)", "editor": "Editor (changes cards and columns)",
               "owner": "Owner (also manages members)"}


def _email_field(label: str, missing: str) -> EmailField:
    return EmailField(label, validators=[DataRequired(missing), Email("That is not an email address."),
                                         Length(max=254, message="That address is too long.")],
                      filters=[lambda v: v.strip().lower() if v else v])


class RoleField(SelectField):
    def __init__(self, label="Role", **kwargs):
        choices = [SelectChoice(value, text) for value, text in ROLE_LABELS.items()]
        super().__init__(label, choices=choices, validate_choice=False, **kwargs)

    def pre_validate(self, form):
        if self.data not in ROLE_LABELS:
            raise ValidationError("Choose viewer, editor or owner.")


class InviteForm(FlaskForm):
    email = _email_field("Email", "Enter the email address to invite.")
    role = RoleField(default="editor")


class RoleForm(FlaskForm):
    role = RoleField()


class PasswordResetRequestForm(FlaskForm):
    email = _email_field("Email", "Enter your email address.")


class NewPasswordForm(FlaskForm):
    """A new password for an existing account; the view sets `account` (name and email)."""
    password = new_password_field("New password")
    confirm = PasswordField("Repeat password", validators=[EqualTo("password", "The passwords differ.")])
    account = None

    def password_context(self):
        return [self.account.name, self.account.email] if self.account is not None else []


class PasswordChangeForm(NewPasswordForm):
    current_password = PasswordField("Current password", validators=[DataRequired("Enter your current password.")])


# --- Rich card content: labels, assignees, dates, checklists, comments --------------------------
from wtforms import DateField, SelectField, SelectMultipleField  # noqa: E402
from wtforms.validators import Optional  # noqa: E402

from .models import LABEL_COLORS  # noqa: E402

LABEL_NAME_MAX = 50
COMMENT_MAX = 10_000


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class LabelForm(FlaskForm):
    """A label's name and colour. The name may be empty: an unnamed label is just its colour."""
    name = StringField("Label name", filters=[_strip, lambda value: value or ""], validators=[
        Length(max=LABEL_NAME_MAX, message=f"Keep it under {LABEL_NAME_MAX} characters.")])
    color = SelectField("Colour", choices=list(LABEL_COLORS),
                        default=LABEL_COLORS[0], validate_choice=True,
                        invalid_choice_message="Choose one of the colours offered.")


class IdsField(SelectMultipleField):
    """Several ids ticked among the choices the view sets (`field.choices = [SelectChoice(id, name)]`)."""

    def __init__(self, label, unknown_message, **kwargs):
        super().__init__(label, coerce=int, default=(), invalid_value_message=unknown_message,
                         invalid_choice_message=unknown_message, **kwargs)


class CardLabelsForm(FlaskForm):
    labels = IdsField("Labels", "That label is not one of this board's labels.")


class CardAssigneesForm(FlaskForm):
    assignees = IdsField("Assignees", "Only members of this board can be assigned.")


class DayField(DateField):
    """An optional `<input type="date">`: empty means no date."""

    def __init__(self, label, **kwargs):
        super().__init__(label, validators=[Optional()],
                         invalid_value_message="Enter a date like 2025-03-31.", **kwargs)


class CardDetailsForm(CardEditForm):
    """The card's own fields: title, description (Markdown), start and due dates."""
    start_date = DayField("Start date")
    due_date = DayField("Due date")

    def validate_due_date(self, field):
        if field.data and self.start_date.data and field.data < self.start_date.data:
            raise ValidationError("The due date can't be before the start date.")


class ChecklistItemForm(FlaskForm):
    text = StringField("Checklist item", filters=[_strip], validators=[
        DataRequired("Write the item first."),
        Length(max=TITLE_MAX, message=f"Keep it under {TITLE_MAX} characters.")])


class ChecklistTickForm(FlaskForm):
    done = BooleanField("Done")


class CommentForm(FlaskForm):
    body = TextAreaField("Comment", filters=[_strip], validators=[
        DataRequired("Write something first."),
        Length(max=COMMENT_MAX, message=f"Keep it under {COMMENT_MAX} characters.")])


# --- Attachments ----------------------------------------------------------------------------

class AttachmentForm(FlaskForm):
    """Files for a card. Each file's size is checked by the view: too large is 413, not 422."""
    files = MultipleFileField("Attach files", validators=[FileRequired("Choose one or more files to attach.")])
