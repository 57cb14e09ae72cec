"""Attachments in the browser: upload through the card dialog, drop files on it, see the cover."""
import re
import io

from PIL import Image
from playwright.sync_api import Page, expect

from .actions import add_cards, card


def png(color=(30, 120, 200), size=(640, 360)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


def open_card(page: Page, title: str):
    page.get_by_role("link", name=title, exact=True).click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name=title)).to_be_visible()
    return dialog


def expect_loaded(image) -> None:
    """The <img> shows a real picture (the thumbnail route answered with an image)."""
    expect(image).to_be_visible()
    image.page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())


def test_upload_an_image_and_see_it_on_the_card_face(board_page: Page):
    page = board_page
    add_cards(page, "To do", ["Design the poster"])
    dialog = open_card(page, "Design the poster")
    expect(dialog.get_by_text("No attachments yet.")).to_be_visible()

    dialog.get_by_label("Attach files").set_input_files(
        [{"name": "poster draft.png", "mimeType": "image/png", "buffer": png()},
         {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"Bigger title, fewer colours."}])
    dialog.get_by_role("button", name="Upload").click()

    attachments = dialog.get_by_role("region", name="Attachments")
    expect(attachments.get_by_role("link", name="poster draft.png")).to_be_visible()
    expect(attachments.get_by_role("link", name="notes.txt")).to_be_visible()
    expect(attachments.get_by_text("28 bytes")).to_be_visible()
    expect_loaded(attachments.locator("img").first)

    # The card face on the board got its cover while the dialog was open.
    cover = card(page, "Design the poster").locator("img.cover")
    expect(cover).to_have_count(1)
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()
    expect_loaded(cover)
    assert cover.evaluate("img => img.naturalWidth") == 320

    page.reload()
    expect_loaded(card(page, "Design the poster").locator("img.cover"))


def test_drop_files_onto_the_open_card(board_page: Page):
    page = board_page
    add_cards(page, "Doing", ["Collect receipts"])
    dialog = open_card(page, "Collect receipts")

    files = page.evaluate_handle("""() => {
        const transfer = new DataTransfer();
        transfer.items.add(new File(["12.50 EUR, lunch"], "receipt.txt", {type: "text/plain"}));
        transfer.items.add(new File(["8.00 EUR, train"], "ticket.txt", {type: "text/plain"}));
        return transfer;
    }""")
    detail = page.locator("#card-detail")
    detail.dispatch_event("dragover", {"dataTransfer": files})
    expect(detail).to_have_class(re.compile(r"\bdropping\b"))
    with page.expect_response(lambda r: r.url.endswith("/attachments") and r.request.method == "POST"):
        detail.dispatch_event("drop", {"dataTransfer": files})

    attachments = dialog.get_by_role("region", name="Attachments")
    expect(attachments.get_by_role("link", name="receipt.txt")).to_be_visible()
    expect(attachments.get_by_role("link", name="ticket.txt")).to_be_visible()
    expect(page.locator("#card-detail")).not_to_have_class(re.compile(r"\bdropping\b"))

    page.on("dialog", lambda confirm: confirm.accept())
    attachments.get_by_role("button", name="Remove receipt.txt").click()
    expect(attachments.get_by_role("link", name="receipt.txt")).to_have_count(0)
    expect(attachments.get_by_role("link", name="ticket.txt")).to_be_visible()


def test_a_file_over_the_limit_is_refused_in_the_dialog(board_page: Page):
    page = board_page
    add_cards(page, "To do", ["Archive the video"])
    dialog = open_card(page, "Archive the video")
    dialog.get_by_label("Attach files").set_input_files(
        {"name": "video.mp4", "mimeType": "video/mp4", "buffer": b"\0" * (10 * 1024 * 1024 + 1)}, timeout=30_000)
    dialog.get_by_role("button", name="Upload").click()
    expect(dialog.get_by_text("“video.mp4” is larger than 10 MB")).to_be_visible(timeout=30_000)
    expect(dialog.get_by_text("No attachments yet.")).to_be_visible()


def test_files_over_the_request_limit_are_refused_before_sending(board_page: Page):
    page = board_page
    add_cards(page, "To do", ["Collect the recordings"])
    dialog = open_card(page, "Collect the recordings")
    nine_mb = b"\0" * (9 * 1024 * 1024)  # each file fits; together they pass the 16 MB a request may carry
    dialog.get_by_label("Attach files").set_input_files(
        [{"name": "part 1.wav", "mimeType": "audio/wav", "buffer": nine_mb},
         {"name": "part 2.wav", "mimeType": "audio/wav", "buffer": nine_mb}], timeout=30_000)
    uploads = []
    page.on("request", lambda request: uploads.append(request) if request.method == "POST" else None)
    dialog.get_by_role("button", name="Upload").click()
    expect(dialog.get_by_text("These files add up to 18 MB; one upload can carry at most 16 MB.")).to_be_visible()
    expect(dialog.get_by_role("button", name="Upload")).to_be_enabled()
    expect(dialog.get_by_text("No attachments yet.")).to_be_visible()
    assert uploads == []
