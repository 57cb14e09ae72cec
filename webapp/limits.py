"""Rate limits: on guessing passwords, on flooding someone with mail, on signups, invitations,
uploads and floods of changes. Every limit is in the table below, applied by endpoint name, so the
views they guard stay as they are.

Counts are kept in Redis when REDIS_URL is set (shared by every worker and machine), else in
each process's memory. If Redis fails, counting goes on in memory and nobody gets an error.

Each limit is a config key (RATELIMIT_...), a limit string such as "10 per 15 minutes",
overridable from the environment or by tests; RATELIMIT_ENABLED turns them all off (it is off
by default only for tests, which turn it on where they exercise a limit).
"""
import os
from dataclasses import dataclass
from typing import Callable

from flask import current_app, request
from flask_limiter import ApplicationLimit
from flask_login import current_user

from .extensions import limiter

DEFAULTS = {
    # Wrong passwords (the login view answers those 422), per account tried and per client.
    # Past the limit even the right password is refused until the window has passed.
    "RATELIMIT_LOGIN_PER_ACCOUNT": "10 per 15 minutes",
    "RATELIMIT_LOGIN_PER_CLIENT": "10 per 15 minutes",
    # Password reset emails, per address they go to (a victim's inbox) and per client.
    "RATELIMIT_RESET_PER_ACCOUNT": "3 per hour",
    "RATELIMIT_RESET_PER_CLIENT": "10 per hour",
    # Sign-up attempts per client, and the emails signing up sends, per address they go to.
    "RATELIMIT_SIGNUP_PER_CLIENT": "20 per hour",
    "RATELIMIT_SIGNUP_PER_ACCOUNT": "3 per hour",
    # Wrong current passwords in the change-password form (a stolen session guessing it).
    "RATELIMIT_PASSWORD_CHANGE_PER_USER": "10 per 15 minutes",
    # Megabytes of uploads per user: disk is finite, and 600 changes a minute could be 600 files.
    "RATELIMIT_UPLOAD_MB_PER_USER": "1000 per hour",
    # Invitations per owner.
    "RATELIMIT_INVITE_PER_USER": "50 per hour",
    # Any change (POST, PUT, PATCH, DELETE) per user, or per client when logged out. Generous:
    # a person dragging cards around makes a few a second at most.
    "RATELIMIT_CHANGES_PER_USER": "600 per minute",
}

MUTATIONS = ["POST", "PUT", "PATCH", "DELETE"]


# --- Who a limit counts --------------------------------------------------------------------

LOOPBACK = {"127.0.0.1", "::1"}


def client_address() -> str:
    """The address of the person, not of the proxy in front of Corkboard.

    Behind nginx (README's deploy) every request comes from 127.0.0.1, and one shared address
    would let a single guesser lock everybody out. So the last TRUSTED_PROXIES entries of
    X-Forwarded-For (those our own proxies appended) are believed; by default one, and only
    when the request came from this machine, where such a proxy runs. Anyone else's
    X-Forwarded-For is their own claim and changes nothing.
    """
    peer = request.remote_addr or "unknown"
    hops = current_app.config["TRUSTED_PROXIES"]
    if hops is None:
        hops = 1 if peer in LOOPBACK else 0
    forwarded = [part.strip() for part in request.headers.get("X-Forwarded-For", "").split(",") if part.strip()]
    if hops <= 0 or not forwarded:
        return peer
    return forwarded[-min(hops, len(forwarded))]


def client() -> str:
    return f"client:{client_address()}"


def account_in_form() -> str:
    """The address typed in the form, as the forms normalise it: the account being tried."""
    # No address is longer than 254 characters; a longer "address" must not make a longer key.
    return "account:" + request.form.get("email", "").strip().lower()[:254]


def user_or_client() -> str:
    return f"user:{current_user.id}" if current_user.is_authenticated else client()


# --- What a limit counts -------------------------------------------------------------------

def refused_login(response) -> bool:
    return response.status_code == 422


def mail_sent(response) -> bool:
    return response.status_code == 303


def megabytes_sent() -> int:
    """What an upload costs against its limit: its size, in started MiB."""
    return max(1, -(-(request.content_length or 0) // 2**20))


def went_through(response) -> bool:
    """Not refused (a form error, a limit): what was asked for was done, its email sent."""
    return response.status_code < 400


@dataclass(frozen=True)
class Rule:
    setting: str  # the config key holding the limit string
    by: Callable[[], str]
    counts: Callable | None = None  # which responses count; None: every request does
    message: str = "Too many attempts."
    cost: Callable[[], int] | int = 1

    def limit(self):
        # Built once per process, not per app: the limiter keeps its rules by identity.
        return limiter.limit(
            lambda: current_app.config[self.setting], key_func=self.by, methods=["POST"],
            deduct_when=self.counts, scope=self.setting.lower(), error_message=self.message, cost=self.cost)


LIMITS = {
    "auth.login": [
        Rule("RATELIMIT_LOGIN_PER_ACCOUNT", account_in_form, refused_login),
        Rule("RATELIMIT_LOGIN_PER_CLIENT", client, refused_login),
    ],
    "auth.forgot_password": [
        Rule("RATELIMIT_RESET_PER_ACCOUNT", account_in_form, mail_sent),
        Rule("RATELIMIT_RESET_PER_CLIENT", client, mail_sent),
    ],
    "auth.signup": [
        Rule("RATELIMIT_SIGNUP_PER_CLIENT", client),
        Rule("RATELIMIT_SIGNUP_PER_ACCOUNT", account_in_form, went_through),
    ],
    "auth.change_password": [Rule("RATELIMIT_PASSWORD_CHANGE_PER_USER", user_or_client, refused_login)],
    "members.invite": [Rule("RATELIMIT_INVITE_PER_USER", user_or_client)],
    "attachments.create": [Rule("RATELIMIT_UPLOAD_MB_PER_USER", user_or_client, went_through,
                                "Too much uploaded in a short time.", megabytes_sent)],
}
ROUTE_LIMITS = {endpoint: [rule.limit() for rule in rules] for endpoint, rules in LIMITS.items()}

CHANGES = ApplicationLimit(
    lambda: current_app.config["RATELIMIT_CHANGES_PER_USER"], key_function=user_or_client,
    methods=MUTATIONS, scope="changes", error_message="Too many changes in a short time.",
).bind(limiter)


@limiter.request_filter
def reading() -> bool:
    """Every limit here is on changes: pages and fragments (the hot path) skip the limiter."""
    return request.method not in MUTATIONS


def init_app(app) -> None:
    """After the blueprints are registered: it wraps their views."""
    for key, default in DEFAULTS.items():
        app.config.setdefault(key, os.environ.get(key, default))
    hops = os.environ.get("TRUSTED_PROXIES")
    app.config.setdefault("TRUSTED_PROXIES", int(hops) if hops else None)
    app.config.setdefault("RATELIMIT_ENABLED", os.environ.get("RATELIMIT_ENABLED", "1") == "1" and not app.testing)
    redis_url = app.config.get("REDIS_URL", os.environ.get("REDIS_URL"))
    app.config.setdefault("RATELIMIT_STORAGE_URI", redis_url or "memory://")
    # A stalled Redis answers no one: give up on it within a blink and count in memory.
    app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", {"socket_timeout": 0.1, "socket_connect_timeout": 0.1})
    app.config.setdefault("RATELIMIT_KEY_PREFIX",
                          app.config.get("REDIS_PREFIX", os.environ.get("REDIS_PREFIX", "corkboard")))
    # A sliding window: "10 in 15 minutes" holds over any 15 minutes, not per clock quarter.
    app.config.setdefault("RATELIMIT_STRATEGY", "moving-window")
    if not app.config["RATELIMIT_ENABLED"]:
        limiter.init_app(app)  # records that it is off
        return
    limiter.limit_manager.set_application_limits([CHANGES])
    # The limiter is one object per process; an app bound to it brings a fresh storage, which
    # must not inherit "storage unreachable" from an earlier app's (tests build many apps).
    limiter._storage_dead = False
    limiter.init_app(app)
    for endpoint, limits in ROUTE_LIMITS.items():
        view = app.view_functions[endpoint]
        for limit in limits:
            view = limit(view)
        app.view_functions[endpoint] = view
