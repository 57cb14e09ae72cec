"""Flask-WTF forms. Every form carries the CSRF token; HTMX sends it as a header."""
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, IntegerField, PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, EqualTo, InputRequired, Length, NumberRange

from .models import TITLE_MAX

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


class SignupForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Tell us your name."), Length(max=80)],
                       filters=[lambda v: v.strip() if v else v])
    email = EmailField("Email", validators=[DataRequired("An email address is needed."),
                                            Email("That is not an email address."), Length(max=254)],
                       filters=[lambda v: v.strip().lower() if v else v])
    password = PasswordField("Password", validators=[
        DataRequired("Choose a password."),
        Length(min=8, max=200, message="Use at least 8 characters."),
    ])
    confirm = PasswordField("Repeat password", validators=[EqualTo("password", "The passwords differ.")])


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired("Enter your email address.")],
                       filters=[lambda v: v.strip().lower() if v else v])
    password = PasswordField("Password", validators=[DataRequired("Enter your password.")])
    remember = BooleanField("Remember me")
    next = HiddenField()


class BoardForm(FlaskForm):
    title = TitleField("Board name")


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
    column_id = IntegerField("Column", validators=[InputRequired("Choose a column.")])
    position = IntegerField("Position", validators=[
        InputRequired("Choose a position."), NumberRange(min=0, message="Positions start at 1.")])


class MoveColumnForm(FlaskForm):
    position = IntegerField("Position", validators=[
        InputRequired("Choose a position."), NumberRange(min=0, message="Positions start at 1.")])


class DeleteForm(FlaskForm):
    """No fields: it carries the CSRF token for a plain-form delete."""
