"""Corkboard: a collaborative Kanban board built the hypermedia way."""
import sqlite3

from flask import Flask
from jinja2 import ChoiceLoader, FileSystemLoader, PrefixLoader
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from . import compact, config
from . import mail as mail_module
from . import jobs, live, logs, pagecache, security
from .extensions import csrf, db, htmx, login_manager, migrate
from .hypermedia import MethodOverrideMiddleware
from .sessions import CheckedCookieSessions
from . import sqlite_lock  # noqa: F401 -- its listener: mutating requests hold SQLite's write lock


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_path=str(config.INSTANCE_DIR),
        template_folder=str(config.PROJECT_ROOT / "templates"),
        static_folder=str(config.PROJECT_ROOT / "static"),
    )
    app.config.from_mapping(config.from_environment())
    if test_config:
        app.config.from_mapping(test_config)
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", config.engine_options(app.config["SQLALCHEMY_DATABASE_URI"]))
    _check_secret_key(app)

    app.jinja_loader = ChoiceLoader([
        FileSystemLoader(app.template_folder),
        PrefixLoader({"partials": FileSystemLoader(str(config.PROJECT_ROOT / "partials"))}),
    ])
    app.jinja_env.trim_blocks = app.jinja_env.lstrip_blocks = True
    app.jinja_env.add_extension(compact.Dedent)
    app.wsgi_app = MethodOverrideMiddleware(app.wsgi_app)
    logs.init_app(app)  # before anything logs: each request's id and its access line
    config.INSTANCE_DIR.mkdir(exist_ok=True)

    security.init_app(app)  # first: its bounded id converter must be in place before any route
    db.init_app(app)
    migrate.init_app(app, db, directory=str(config.PROJECT_ROOT / "migrations"), render_as_batch=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    htmx.init_app(app)
    mail_module.init_app(app)
    pagecache.init_app(app)
    app.session_interface = CheckedCookieSessions()
    live.init_app(app)
    jobs.init_app(app)

    from . import activity, attachments, auth, boards, card_fields, cards, checklists, columns, comments, imports, labels, main, members
    from . import feeds, tokens, webhooks
    from . import exports
    app.register_blueprint(main.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(boards.bp)
    app.register_blueprint(columns.bp)
    app.register_blueprint(cards.bp)
    app.register_blueprint(card_fields.bp)
    app.register_blueprint(members.bp)
    app.register_blueprint(labels.bp)
    app.register_blueprint(checklists.bp)
    app.register_blueprint(comments.bp)
    app.register_blueprint(attachments.bp)
    app.register_blueprint(activity.bp)
    app.register_blueprint(exports.bp)
    app.register_blueprint(imports.bp)
    app.register_blueprint(tokens.bp)
    app.register_blueprint(feeds.bp)
    app.register_blueprint(webhooks.bp)

    from . import assets, cli, icons, markdown, models
    cli.init_app(app)
    app.add_template_filter(activity.describe)
    app.add_template_filter(activity.time_ago)
    app.add_template_filter(markdown.render, "markdown")
    app.add_template_global(icons.icon)
    app.get_send_file_max_age = assets.max_age
    app.add_template_global(assets.stylesheets)
    app.add_template_global(assets.scripts)
    app.add_template_filter(models.initials)

    from . import api, errors, limits
    limits.init_app(app)  # after the blueprints: it wraps some of their views
    api.init_app(app)  # before errors: flask-smorest's JSON error handler must be replaced by ours
    errors.init_app(app)
    _trust_proxies(app)  # last: the outermost layer, so that every other one sees the client's address
    return app


def _trust_proxies(app: Flask) -> None:
    """X-Forwarded-For, -Proto and -Host are believed only as far as TRUSTED_PROXIES hops of our
    own proxies, and only when it is set: without it a client's X-Forwarded-Proto changes nothing."""
    hops = app.config["TRUSTED_PROXIES"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def _check_secret_key(app: Flask) -> None:
    if app.config.get("SECRET_KEY"):
        return
    if not (app.debug or app.testing):
        raise RuntimeError("SECRET_KEY must be set (`make run` generates one in instance/secret_key).")
    app.config["SECRET_KEY"] = config.DEV_SECRET_KEY


@event.listens_for(Engine, "connect")
def _tune_sqlite(dbapi_connection, _record) -> None:
    """WAL lets readers run beside a writer; the busy timeout queues writers instead of failing."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
