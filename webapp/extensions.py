"""Flask extensions, created unbound and bound to the app in `create_app`."""
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_mail import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from htmx_flask import Htmx
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
htmx = Htmx()
mail = Mail()
# Limits and storage are set in webapp/limits.py. Its storage failing (Redis down) must never
# turn a request into an error: it falls back to memory, and errors are logged, not raised.
limiter = Limiter(key_func=get_remote_address, swallow_errors=True, in_memory_fallback_enabled=True)
