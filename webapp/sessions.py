"""Flask's signed-cookie sessions, with each cookie checked once per process.

A browser sends the same session cookie with request after request until the session changes.
Checking it (signature, base64, zlib, JSON) is a measurable part of serving a cached board page,
so a cookie that checked out is remembered with what it holds, for as long as it is valid.
Only a cookie identical to one that passed the check is taken from memory: nothing unsigned
gets in this way. Remembering a cookie never keeps a login alive: the login it names is looked
up on every request (webapp/auth.py `load_user`), so logging out ends it at once.
"""
import copy
import time

from flask.sessions import SecureCookieSessionInterface
from itsdangerous import BadSignature

from .pagecache import RenderedCache


class CheckedCookieSessions(SecureCookieSessionInterface):
    def __init__(self, size: int = 4096):
        self.checked = RenderedCache(size)  # cookie -> (when it was signed, what it holds)

    def open_session(self, app, request):
        cookie = request.cookies.get(self.get_cookie_name(app))
        serializer = self.get_signing_serializer(app)
        if not cookie or serializer is None:
            return super().open_session(app, request)
        max_age = app.permanent_session_lifetime.total_seconds()
        checked = self.checked.get(cookie)
        if checked is None or time.time() - checked[0] > max_age:
            try:
                data, signed_at = serializer.loads(cookie, max_age=max_age, return_timestamp=True)
            except BadSignature:
                return self.session_class()
            checked = (signed_at.timestamp(), data)
            self.checked.put(cookie, checked)
        # A copy: the request may change its session (a flashed message, say) in place.
        return self.session_class(copy.deepcopy(checked[1]))
