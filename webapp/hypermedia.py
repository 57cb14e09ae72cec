"""One URL, two representations: a full page, or the partial HTMX swaps in."""
from urllib.parse import parse_qs

from flask import g, make_response, redirect, render_template, request, url_for


def wants_fragment() -> bool:
    """HTMX asked for a fragment (not boosted navigation, not a history restore)."""
    htmx = request.htmx
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def page_or_partial(page: str, partial: str, status: int = 200, **context):
    template = partial if wants_fragment() else page
    response = make_response(render_template(template, **context), status)
    response.vary.add("HX-Request")
    return response


def updated(partial: str | None, redirect_to: str, **context):
    """After a mutation: HTMX gets the fresh partial, a plain form post a 303 redirect."""
    if not wants_fragment():
        return redirect(redirect_to, 303)
    if partial is None:
        return "", 200
    return render_template(partial, **context)


def invalid(form, partial: str, title: str, **context):
    """A form that failed validation: the same form with its errors inline, status 422.
    HTMX swaps the partial back in place; without JavaScript it is a page of its own."""
    context.update(form=form, form_partial=partial, title=title)
    return page_or_partial("form_page.html", partial, 422, **context)


class MethodOverrideMiddleware:
    """Lets a plain HTML form (POST only) send PUT, PATCH or DELETE: `action="...?_method=PATCH"`.

    Without JavaScript every action still reaches the view that HTMX calls with the real verb.
    """

    METHODS = frozenset({"PUT", "PATCH", "DELETE"})

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") == "POST" and "_method=" in environ.get("QUERY_STRING", ""):
            method = parse_qs(environ["QUERY_STRING"]).get("_method", [""])[0].upper()
            if method in self.METHODS:
                environ["REQUEST_METHOD"] = method
        return self.wsgi_app(environ, start_response)


def card_changed(partial: str, **context):
    """After a committed change to what a card carries (whose operation sent its fresh face to
    every open board): the author gets the fresh partial plus, out of band, that same face;
    without JavaScript, back to the card's page."""
    card = context["card"]
    response = updated(partial, url_for("cards.show", board_id=card.board_id, card_id=card.id), **context)
    if wants_fragment():
        response += g.get("broadcast", "")  # operations.publish.broadcast(), read without importing them
    return response
