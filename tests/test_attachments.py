"""Attachments: upload (HTMX and plain forms), limits, safe names, safe serving, thumbnails, removal."""
import io
import re
import struct
import time
import zlib
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from webapp import config, storage
from webapp.attachments import safe_filename
from webapp.extensions import db
from webapp.models import Activity, Attachment, BoardMember, User


@pytest.fixture(autouse=True)
def uploads(app, tmp_path) -> Path:
    """Each test keeps its files in a folder of its own."""
    folder = tmp_path / "uploads"
    app.config["UPLOAD_FOLDER"] = str(folder)
    return folder


def image_bytes(fmt="PNG", size=(800, 600), color=(200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, fmt)
    return buffer.getvalue()


PNG = image_bytes()


def upload(user, card_url, *files, htmx=True):
    """Post files (name, bytes) to a card the way the upload form does."""
    data = {"files": [(io.BytesIO(content), name) for name, content in files]}
    url = f"{card_url}/attachments"
    if htmx:
        return user.hx("POST", url, data, content_type="multipart/form-data")
    return user.form("POST", url, data, content_type="multipart/form-data")


def attachments(app, **where) -> list[Attachment]:
    with app.app_context():
        statement = select(Attachment).filter_by(**where).order_by(Attachment.id)
        return [_detached(row) for row in db.session.scalars(statement)]


def _detached(row):
    db.session.expunge(row)
    return row


def stored_files(folder: Path) -> list[str]:
    """Every file kept on disk (temporary files included, so leftovers show)."""
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())


def verbs(app, board_id) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(
            select(Activity.verb).where(Activity.board_id == board_id).order_by(Activity.id)))


def join_as(app, board_id, name, role):
    with app.app_context():
        user = db.session.scalar(select(User).where(User.name == name))
        db.session.add(BoardMember(board_id=board_id, user_id=user.id, role=role))
        db.session.commit()


# --- uploading ----------------------------------------------------------------------------------

def test_upload_with_htmx_lists_the_file_and_shows_the_cover_on_the_card(app, ada, uploads):
    card_id = ada.board.cards["One"]
    response = upload(ada, ada.board.card_url("One"), ("holiday photo.png", PNG))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    [attachment] = attachments(app, card_id=card_id)
    assert html.lstrip().startswith('<section id="attachments"')
    assert "holiday photo.png" in html and "Ada" in html and "just now" in html
    assert f'src="{ada.board.url}/attachments/{attachment.id}/thumbnail"' in html
    # The card face on the board, out of band, now with its cover.
    face = re.search(rf'<li id="card-{card_id}" class="card"[^>]*hx-swap-oob="true">.*?</li>', html, re.S).group(0)
    assert f'<img class="cover" src="{ada.board.url}/attachments/{attachment.id}/thumbnail"' in face
    assert (attachment.filename, attachment.content_type, attachment.size, attachment.is_image) == (
        "holiday photo.png", "image/png", len(PNG), True)
    sha = attachment.sha256
    assert stored_files(uploads) == [f"{sha[:2]}/{sha[2:4]}/{sha}", f"{sha[:2]}/{sha[2:4]}/{sha}.thumb.webp"]
    assert (uploads / sha[:2] / sha[2:4] / sha).read_bytes() == PNG
    assert verbs(app, ada.board.id)[-1] == "attachment.added"
    board = ada.get(ada.board.url).get_data(as_text=True)
    assert f'<img class="cover" src="{ada.board.url}/attachments/{attachment.id}/thumbnail"' in board


def test_upload_without_javascript_redirects_to_the_card(app, ada):
    response = upload(ada, ada.board.card_url("Two"), ("notes.txt", b"Remember the milk"), htmx=False)
    assert response.status_code == 303
    assert response.location == ada.board.card_url("Two") + "#attachments"
    page = ada.get(ada.board.card_url("Two")).get_data(as_text=True)
    assert "notes.txt" in page and "17 bytes" in page and "Remove" in page
    activity = ada.get(ada.board.card_url("Two")).get_data(as_text=True)
    assert "notes.txt" in activity


def test_several_files_in_one_upload(app, ada, uploads):
    response = upload(ada, ada.board.card_url("One"),
                      ("a.txt", b"first"), ("b.pdf", b"%PDF-1.4 second"), ("c.png", PNG))
    assert response.status_code == 200
    rows = attachments(app, card_id=ada.board.cards["One"])
    assert [(row.filename, row.content_type, row.is_image) for row in rows] == [
        ("a.txt", "text/plain", False), ("b.pdf", "application/pdf", False), ("c.png", "image/png", True)]
    html = response.get_data(as_text=True)
    assert all(name in html for name in ("a.txt", "b.pdf", "c.png"))
    assert verbs(app, ada.board.id).count("attachment.added") == 3
    assert len(stored_files(uploads)) == 4  # three files and one thumbnail


def test_the_same_file_twice_is_stored_once(app, ada, uploads):
    upload(ada, ada.board.card_url("One"), ("report.txt", b"same bytes"))
    upload(ada, ada.board.card_url("Two"), ("copy of report.txt", b"same bytes"))
    assert len(attachments(app)) == 2
    assert len(stored_files(uploads)) == 1


@pytest.mark.parametrize("htmx", [True, False])
def test_an_empty_selection_is_a_field_error(app, ada, uploads, htmx):
    response = upload(ada, ada.board.card_url("One"), ("", b""), htmx=htmx)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Choose one or more files to attach." in html and 'aria-invalid="true"' in html
    assert ("<html" in html) is not htmx
    assert attachments(app) == [] and stored_files(uploads) == []


def test_a_form_without_files_is_a_field_error(app, ada):
    response = ada.hx("POST", f"{ada.board.card_url('One')}/attachments", {})
    assert response.status_code == 422
    assert "Choose one or more files to attach." in response.get_data(as_text=True)


@pytest.mark.parametrize("htmx", [True, False])
def test_a_file_over_the_limit_is_413_and_nothing_is_stored(app, ada, uploads, htmx):
    app.config["MAX_ATTACHMENT_SIZE"] = 1024
    response = upload(ada, ada.board.card_url("One"),
                      ("small.txt", b"fits"), ("big.bin", b"x" * 1025), htmx=htmx)
    html = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "“big.bin” is larger than 1 KB, the most one file may be. Nothing was attached." in html
    assert ('id="attachment-files-error"' in html) and (("<html" in html) is not htmx)
    assert attachments(app) == [] and stored_files(uploads) == []
    assert "attachment.added" not in verbs(app, ada.board.id)


def test_a_file_at_the_limit_is_accepted(app, ada):
    app.config["MAX_ATTACHMENT_SIZE"] = 1024
    assert upload(ada, ada.board.card_url("One"), ("exact.bin", b"x" * 1024)).status_code == 200
    assert [row.size for row in attachments(app)] == [1024]


def test_an_upload_over_the_request_limit_is_413_in_the_error_area(app, ada, uploads):
    app.config["MAX_CONTENT_LENGTH"] = 4096
    response = upload(ada, ada.board.card_url("One"), ("a.bin", b"x" * 3000), ("b.bin", b"y" * 3000))
    assert response.status_code == 413
    assert response.headers["HX-Retarget"] == "#errors"
    assert "too large" in response.get_data(as_text=True)
    assert attachments(app) == [] and stored_files(uploads) == []


def test_the_limit_is_10_mb_unless_configured(monkeypatch):
    monkeypatch.delenv("MAX_ATTACHMENT_MB", raising=False)
    assert config.from_environment()["MAX_ATTACHMENT_SIZE"] == 10 * 1024 * 1024
    monkeypatch.setenv("MAX_ATTACHMENT_MB", "3")
    assert config.from_environment()["MAX_ATTACHMENT_SIZE"] == 3 * 1024 * 1024


def test_the_form_says_the_limit(ada):
    html = ada.get(ada.board.card_url("One")).get_data(as_text=True)
    assert "Up to 10 MB per file, 10 files at once." in html and 'name="files" multiple' in html


def test_more_files_than_one_upload_may_hold_are_refused(app, ada, uploads):
    app.config["MAX_FILES_PER_UPLOAD"] = 3
    files = [(f"note {n}.txt", f"note {n}".encode()) for n in range(4)]
    response = upload(ada, ada.board.card_url("One"), *files)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "At most 3 files can be attached at once, and 4 were chosen. Nothing was attached." in html
    assert 'id="attachment-files-error"' in html
    assert attachments(app) == [] and stored_files(uploads) == []
    assert upload(ada, ada.board.card_url("One"), *files[:3]).status_code == 200


def test_ten_files_per_upload_unless_configured(monkeypatch):
    monkeypatch.delenv("MAX_FILES_PER_UPLOAD", raising=False)
    assert config.from_environment()["MAX_FILES_PER_UPLOAD"] == 10
    monkeypatch.setenv("MAX_FILES_PER_UPLOAD", "25")
    assert config.from_environment()["MAX_FILES_PER_UPLOAD"] == 25


def bomb_png(width, height) -> bytes:
    """A valid PNG of width x height black pixels at one bit each: a few kilobytes on disk, gigabytes
    once decoded (made by hand, row by row, so the test never holds the decoded image either)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    row = b"\0" * (1 + (width + 7) // 8)
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def test_a_decompression_bomb_is_refused_from_its_header(app, ada, uploads):
    bomb = bomb_png(20_000, 20_000)  # 400 megapixels
    assert len(bomb) < 100_000
    started = time.monotonic()
    response = upload(ada, ada.board.card_url("One"), ("black.png", bomb), ("notes.txt", b"fine"))
    elapsed = time.monotonic() - started
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert ("“black.png” is an image of more than 40 megapixels, the most an image may have. "
            "Nothing was attached.") in html
    assert attachments(app) == [] and stored_files(uploads) == []
    assert elapsed < 1  # read from the header, never decoded


def test_an_image_over_the_pixel_limit_is_refused_and_one_at_it_is_kept(app, ada, uploads):
    app.config["MAX_IMAGE_PIXELS"] = 1_000_000
    response = upload(ada, ada.board.card_url("One"), ("wide.png", image_bytes(size=(1001, 1000))),
                      ("tall.gif", image_bytes("GIF", size=(1000, 1001))))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "“wide.png”, “tall.gif” are images of more than 1 megapixels" in html
    assert attachments(app) == []
    assert upload(ada, ada.board.card_url("One"), ("exact.png", image_bytes(size=(1000, 1000)))).status_code == 200
    assert [(row.filename, row.is_image) for row in attachments(app)] == [("exact.png", True)]


def test_the_pixel_limit_is_40_megapixels_unless_configured(monkeypatch):
    monkeypatch.delenv("MAX_IMAGE_MEGAPIXELS", raising=False)
    assert config.from_environment()["MAX_IMAGE_PIXELS"] == 40_000_000
    monkeypatch.setenv("MAX_IMAGE_MEGAPIXELS", "12.5")
    assert config.from_environment()["MAX_IMAGE_PIXELS"] == 12_500_000


# --- names and paths ------------------------------------------------------------------------------

@pytest.mark.parametrize("given, shown", [
    ("../../etc/passwd", "etc_passwd"),
    ("..\\..\\windows\\win.ini", "windows_win.ini"),
    ("evil\x00.txt", "evil.txt"),
    ("...", "file"),
    ("..", "file"),
    ("", "file"),
    (None, "file"),
    ("   ", "file"),
    ("Straße 報告 résumé.pdf", "Straße 報告 résumé.pdf"),
    ("photo\u202egnp.exe", "photognp.exe"),  # no right-to-left override to disguise the extension
    ('<script>"x".html', "script_x_.html"),
    ("CON.txt", "_CON.txt"),
    (".htaccess", "htaccess"),
])
def test_names_are_made_safe(given, shown):
    assert safe_filename(given) == shown


def test_long_names_keep_their_extension():
    name = safe_filename("a" * 400 + ".pdf")
    assert len(name) == 255 and name.endswith("a.pdf")


def test_the_stored_path_never_comes_from_the_name(app, ada, uploads, tmp_path):
    for name in ("../../outside.txt", "..\\..\\outside.txt", "/etc/cron.d/evil", "a\x00b.txt", "...."):
        assert upload(ada, ada.board.card_url("One"), (name, name.encode() + b" content")).status_code == 200
    rows = attachments(app)
    assert [row.filename for row in rows] == ["outside.txt", "outside.txt", "etc_cron.d_evil", "ab.txt", "file"]
    assert not (tmp_path / "outside.txt").exists() and not (tmp_path.parent / "outside.txt").exists()
    assert stored_files(uploads) == sorted(f"{row.sha256[:2]}/{row.sha256[2:4]}/{row.sha256}" for row in rows)


# --- serving --------------------------------------------------------------------------------------

def served(user, board_url, attachment, suffix=""):
    return user.get(f"{board_url}/attachments/{attachment.id}{suffix}")


def test_an_image_is_shown_inline_with_its_real_type(app, ada):
    upload(ada, ada.board.card_url("One"), ("picture.png", PNG))
    [attachment] = attachments(app)
    response = served(ada, ada.board.url, attachment)
    assert response.status_code == 200 and response.data == PNG
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["Content-Disposition"] == "inline; filename=picture.png"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "private" in response.headers["Cache-Control"]
    assert "sandbox" in response.headers["Content-Security-Policy"]


def test_a_jpeg_named_png_is_served_as_jpeg(app, ada):
    upload(ada, ada.board.card_url("One"), ("really a jpeg.png", image_bytes("JPEG")))
    [attachment] = attachments(app)
    assert served(ada, ada.board.url, attachment).headers["Content-Type"] == "image/jpeg"


@pytest.mark.parametrize("name, content, content_type", [
    ("notes.txt", b"plain words", "text/plain; charset=utf-8"),
    ("page.html", b"<script>alert(document.cookie)</script>", "application/octet-stream"),
    ("drawing.svg", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "application/octet-stream"),
    ("app.js", b"alert(1)", "application/octet-stream"),
    ("no extension", b"\x00\x01", "application/octet-stream"),
])
def test_other_files_are_downloads_with_a_safe_type(app, ada, name, content, content_type):
    upload(ada, ada.board.card_url("One"), (name, content))
    [attachment] = attachments(app)
    assert not attachment.is_image
    response = served(ada, ada.board.url, attachment)
    assert response.status_code == 200 and response.data == content
    assert response.headers["Content-Type"] == content_type
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "private" in response.headers["Cache-Control"]
    assert "text/html" not in response.headers["Content-Type"]


def test_a_unicode_name_is_kept_for_the_download(app, ada):
    upload(ada, ada.board.card_url("One"), ("Straße 報告.txt", b"x"))
    [attachment] = attachments(app)
    disposition = served(ada, ada.board.url, attachment).headers["Content-Disposition"]
    assert "filename*=UTF-8''Stra%C3%9Fe%20%E5%A0%B1%E5%91%8A.txt" in disposition


def test_a_text_file_named_png_is_not_an_image(app, ada, uploads):
    response = upload(ada, ada.board.card_url("One"), ("fake.png", b"I am not a picture"))
    [attachment] = attachments(app)
    assert (attachment.is_image, attachment.content_type) == (False, "application/octet-stream")
    assert "/thumbnail" not in response.get_data(as_text=True)
    served_file = served(ada, ada.board.url, attachment)
    assert served_file.headers["Content-Type"] == "application/octet-stream"
    assert served_file.headers["Content-Disposition"].startswith("attachment;")
    assert served(ada, ada.board.url, attachment, "/thumbnail").status_code == 404
    assert not any(name.endswith(".thumb.webp") for name in stored_files(uploads))
    assert 'class="cover"' not in ada.get(ada.board.url).get_data(as_text=True)


def test_a_truncated_image_is_not_an_image(app, ada):
    upload(ada, ada.board.card_url("One"), ("broken.png", PNG[: len(PNG) // 2]))
    assert [row.is_image for row in attachments(app)] == [False]


@pytest.mark.parametrize("fmt, content_type", [
    ("PNG", "image/png"), ("JPEG", "image/jpeg"), ("GIF", "image/gif"), ("WEBP", "image/webp")])
def test_thumbnails_are_made_for_raster_images(app, ada, uploads, fmt, content_type):
    upload(ada, ada.board.card_url("One"), (f"picture.{fmt.lower()}", image_bytes(fmt, size=(1600, 900))))
    [attachment] = attachments(app)
    assert (attachment.is_image, attachment.content_type) == (True, content_type)
    response = served(ada, ada.board.url, attachment, "/thumbnail")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/webp"
    assert response.headers["Content-Disposition"].startswith("inline;")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    thumbnail = Image.open(io.BytesIO(response.data))
    assert thumbnail.size == (320, 180)


def test_a_missing_thumbnail_is_made_again(app, ada, uploads):
    upload(ada, ada.board.card_url("One"), ("picture.png", PNG))
    [attachment] = attachments(app)
    with app.app_context():
        storage.thumbnail_path(attachment.sha256).unlink()
    assert served(ada, ada.board.url, attachment, "/thumbnail").status_code == 200


def test_a_file_gone_from_disk_is_404(app, ada):
    upload(ada, ada.board.card_url("One"), ("notes.txt", b"words"))
    [attachment] = attachments(app)
    with app.app_context():
        storage.blob_path(attachment.sha256).unlink()
    response = served(ada, ada.board.url, attachment)
    assert response.status_code == 404 and "missing" in response.get_data(as_text=True)


def test_a_file_is_revalidated_with_its_etag(app, ada):
    upload(ada, ada.board.card_url("One"), ("notes.txt", b"words"))
    [attachment] = attachments(app)
    first = served(ada, ada.board.url, attachment)
    again = ada.get(f"{ada.board.url}/attachments/{attachment.id}",
                    headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


# --- removing -------------------------------------------------------------------------------------

def test_remove_with_htmx_updates_the_list_and_the_card_face(app, ada, uploads):
    upload(ada, ada.board.card_url("One"), ("picture.png", PNG))
    [attachment] = attachments(app)
    response = ada.hx("DELETE", f"{ada.board.url}/attachments/{attachment.id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "No attachments yet." in html and "picture.png" not in html
    assert f'<li id="card-{ada.board.cards["One"]}" class="card"' in html and 'class="cover"' not in html
    assert attachments(app) == [] and stored_files(uploads) == []
    assert verbs(app, ada.board.id)[-1] == "attachment.deleted"
    assert served(ada, ada.board.url, attachment).status_code == 404


def test_remove_without_javascript(app, ada, uploads):
    upload(ada, ada.board.card_url("One"), ("notes.txt", b"words"))
    [attachment] = attachments(app)
    response = ada.form("DELETE", f"{ada.board.url}/attachments/{attachment.id}")
    assert response.status_code == 303 and response.location == ada.board.card_url("One") + "#attachments"
    assert attachments(app) == [] and stored_files(uploads) == []


def test_a_file_stays_while_another_card_uses_it(app, ada, uploads):
    upload(ada, ada.board.card_url("One"), ("picture.png", PNG))
    upload(ada, ada.board.card_url("Two"), ("same picture.png", PNG))
    first, second = attachments(app)
    assert first.sha256 == second.sha256
    ada.hx("DELETE", f"{ada.board.url}/attachments/{first.id}")
    assert len(stored_files(uploads)) == 2  # the file and its thumbnail
    assert served(ada, ada.board.url, second).data == PNG
    ada.hx("DELETE", f"{ada.board.url}/attachments/{second.id}")
    assert stored_files(uploads) == []


def test_deleting_a_card_removes_its_files_unless_used_elsewhere(app, ada, uploads):
    upload(ada, ada.board.card_url("One"), ("shared.txt", b"shared"), ("own.txt", b"only on One"))
    upload(ada, ada.board.card_url("Two"), ("shared.txt", b"shared"))
    shared, own, _ = attachments(app)
    ada.hx("DELETE", ada.board.card_url("One"))
    assert [row.filename for row in attachments(app)] == ["shared.txt"]
    assert stored_files(uploads) == [f"{shared.sha256[:2]}/{shared.sha256[2:4]}/{shared.sha256}"]
    assert own.sha256 != shared.sha256


def test_deleting_a_column_removes_its_files(app, ada, uploads):
    upload(ada, ada.board.card_url("One"), ("picture.png", PNG))
    upload(ada, ada.board.card_url("Three"), ("notes.txt", b"words"))
    ada.hx("DELETE", ada.board.column_url("To do"))
    assert attachments(app) == [] and stored_files(uploads) == []


def test_deleting_a_board_removes_its_files_but_not_another_boards(app, ada, uploads):
    other = ada.form("POST", "/boards/", {"title": "Other"}).location
    other_card = _first_card_url(ada, other)
    upload(ada, other_card, ("kept.txt", b"kept"))
    upload(ada, ada.board.card_url("One"), ("kept.txt", b"kept"), ("gone.png", PNG))
    ada.hx("DELETE", ada.board.url)
    assert [row.filename for row in attachments(app)] == ["kept.txt"]
    assert len(stored_files(uploads)) == 1


def _first_card_url(user, board_url):
    html = user.get(board_url).get_data(as_text=True)
    column_id = re.search(r'data-column="(\d+)"', html).group(1)
    user.form("POST", f"{board_url}/columns/{column_id}/cards", {"title": "Elsewhere"})
    card_id = re.search(r'id="card-(\d+)"', user.get(board_url).get_data(as_text=True)).group(1)
    return f"{board_url}/cards/{card_id}"


# --- one transaction ----------------------------------------------------------------------------

def test_a_failed_commit_leaves_no_file(app, ada, uploads, monkeypatch):
    def failing_commit():
        raise RuntimeError("the database went away")
    monkeypatch.setattr(db.session, "commit", failing_commit)
    response = upload(ada, ada.board.card_url("One"), ("picture.png", PNG), ("notes.txt", b"words"))
    assert response.status_code == 500 and "Nothing was saved" in response.get_data(as_text=True)
    monkeypatch.undo()
    assert attachments(app) == []
    assert stored_files(uploads) == []


def test_a_failed_commit_keeps_a_file_another_attachment_uses(app, ada, uploads, monkeypatch):
    upload(ada, ada.board.card_url("One"), ("notes.txt", b"words"))

    def failing_commit():
        raise RuntimeError("the database went away")
    monkeypatch.setattr(db.session, "commit", failing_commit)
    assert upload(ada, ada.board.card_url("Two"), ("notes.txt", b"words"), ("new.txt", b"new")).status_code == 500
    monkeypatch.undo()
    [kept] = attachments(app)
    assert stored_files(uploads) == [f"{kept.sha256[:2]}/{kept.sha256[2:4]}/{kept.sha256}"]


def test_a_failed_write_records_nothing(app, ada, uploads, monkeypatch):
    written = []

    def full_disk(source, target):
        written.append(target)
        if len(written) == 2:
            raise OSError(28, "No space left on device")
        return real_replace(source, target)
    real_replace = storage.os.replace
    monkeypatch.setattr(storage.os, "replace", full_disk)
    assert upload(ada, ada.board.card_url("One"), ("a.txt", b"first"), ("b.txt", b"second")).status_code == 500
    monkeypatch.undo()
    assert attachments(app) == []
    assert "attachment.added" not in verbs(app, ada.board.id)
    assert stored_files(uploads) == []


# --- who may do what ------------------------------------------------------------------------------

def test_a_viewer_can_download_but_not_upload_or_remove(app, ada, bob, uploads):
    upload(ada, ada.board.card_url("One"), ("picture.png", PNG))
    [attachment] = attachments(app)
    join_as(app, ada.board.id, "Bob", "viewer")
    detail = bob.get(ada.board.card_url("One")).get_data(as_text=True)
    assert "picture.png" in detail and "Attach files" not in detail and "Remove" not in detail
    assert served(bob, ada.board.url, attachment).status_code == 200
    assert served(bob, ada.board.url, attachment, "/thumbnail").status_code == 200
    assert upload(bob, ada.board.card_url("One"), ("mine.txt", b"x")).status_code == 403
    assert upload(bob, ada.board.card_url("One"), ("mine.txt", b"x"), htmx=False).status_code == 403
    assert bob.hx("DELETE", f"{ada.board.url}/attachments/{attachment.id}").status_code == 403
    assert bob.form("DELETE", f"{ada.board.url}/attachments/{attachment.id}").status_code == 403
    assert len(attachments(app)) == 1 and len(stored_files(uploads)) == 2


def test_an_editor_can_upload_and_remove(app, ada, bob):
    join_as(app, ada.board.id, "Bob", "editor")
    assert upload(bob, ada.board.card_url("One"), ("bob.txt", b"x")).status_code == 200
    [attachment] = attachments(app)
    assert bob.hx("DELETE", f"{ada.board.url}/attachments/{attachment.id}").status_code == 200


def test_a_stranger_gets_404_for_everything(app, ada, bob, uploads):
    upload(ada, ada.board.card_url("One"), ("picture.png", PNG))
    [attachment] = attachments(app)
    for suffix in ("", "/thumbnail"):
        response = served(bob, ada.board.url, attachment, suffix)
        assert response.status_code == 404 and PNG not in response.data
    assert upload(bob, ada.board.card_url("One"), ("mine.txt", b"x")).status_code == 404
    assert bob.hx("DELETE", f"{ada.board.url}/attachments/{attachment.id}").status_code == 404
    assert len(attachments(app)) == 1


def test_an_attachment_is_only_reachable_under_its_own_board(app, ada, bob):
    bob_board = bob.form("POST", "/boards/", {"title": "Bob's"}).location
    upload(bob, _first_card_url(bob, bob_board), ("secret.txt", b"Bob's secret"))
    [secret] = attachments(app)
    join_as(app, ada.board.id, "Bob", "owner")  # Bob is on both boards; Ada only on hers
    for user in (ada, bob):
        assert served(user, ada.board.url, secret).status_code == 404
        assert user.hx("DELETE", f"{ada.board.url}/attachments/{secret.id}").status_code == 404
    assert served(bob, bob_board, secret).data == b"Bob's secret"


def test_the_attachment_list_is_a_partial_and_a_page(ada):
    upload(ada, ada.board.card_url("One"), ("notes.txt", b"words"))
    url = f"{ada.board.card_url('One')}/attachments"
    fragment = ada.hx("GET", url).get_data(as_text=True)
    page = ada.get(url).get_data(as_text=True)
    assert fragment.lstrip().startswith('<section id="attachments"') and "notes.txt" in fragment
    assert "<html" in page and "notes.txt" in page


def test_the_uploader_is_shown_even_after_leaving(app, ada, bob):
    join_as(app, ada.board.id, "Bob", "editor")
    upload(bob, ada.board.card_url("One"), ("bob.txt", b"x"))
    detail = ada.get(ada.board.card_url("One")).get_data(as_text=True)
    assert "Bob" in detail
    with app.app_context():
        db.session.delete(db.session.scalar(select(User).where(User.name == "Bob")))
        db.session.commit()
    detail = ada.get(ada.board.card_url("One")).get_data(as_text=True)
    assert "bob.txt" in detail and "a former member" in detail


def test_names_are_escaped_in_the_page(app, ada):
    upload(ada, ada.board.card_url("One"), ("<img src=x onerror=alert(1)>.txt", b"x"))
    detail = ada.get(ada.board.card_url("One")).get_data(as_text=True)
    assert "<img src=x" not in detail
