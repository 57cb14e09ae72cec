"""Layout a person would notice: pop-up menus whose items overlap, pages wider than a phone,
"Log out" out of reach, a theme that is forgotten, too few columns on a laptop, a squashed
rename box. The pages and states are the ones test_a11y.py tours (same board in use).
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from .actions import add_column, column, create_board, log_in, open_user_menu, settled
from .test_a11y import (BOARD, LAPTOP, PHONE, STATES, Furnished, as_user, choose_theme, furnished, goto,  # noqa: F401
                        menu_summary, on_board, open_menu)

MENUS = ["Board menu", "Column menu", "Labels", "Members", "User menu"]

# Every item of an open menu: is it the topmost element at its own centre, inside the viewport?
COVERED_ITEMS = """(panel) => {
    const name = (el) => {
        const text = (el.getAttribute("aria-label") || el.textContent || el.value || "").trim().replace(/\\s+/g, " ");
        return `<${el.tagName.toLowerCase()}${el.className && typeof el.className === "string" ? "." +
                el.className.trim().split(/\\s+/).join(".") : ""}> "${text.slice(0, 40)}"`;
    };
    const problems = [];
    const items = panel.querySelectorAll('a[href], button, input:not([type="hidden"]), select, textarea, label, summary');
    for (const el of items) {
        const style = getComputedStyle(el);
        if (!el.getClientRects().length || style.visibility === "hidden") continue;  // not shown at all
        const box = el.getBoundingClientRect();
        if (el.matches("input") && (box.width < 2 || box.height < 2)) continue;  // a visually hidden box, drawn by its label
        if (box.width < 1 || box.height < 1) { problems.push(`${name(el)} has no size (${box.width}x${box.height})`); continue; }
        const x = box.left + box.width / 2, y = box.top + box.height / 2;
        if (x < 0 || y < 0 || x >= innerWidth || y >= innerHeight) {
            problems.push(`${name(el)}: its centre (${x | 0}, ${y | 0}) is off screen (${innerWidth}x${innerHeight})`);
            continue;
        }
        const hit = document.elementFromPoint(x, y);
        if (!hit || !(hit === el || el.contains(hit)))
            problems.push(`${name(el)} at (${x | 0}, ${y | 0}) is covered by ${hit ? name(hit) : "nothing (outside the page)"}`);
    }
    return {count: items.length, problems};
}"""


@pytest.mark.parametrize("menu_name", MENUS)
def test_every_menu_item_is_on_top_and_escape_closes_the_menu(page: Page, furnished: Furnished, menu_name: str):
    as_user(page, furnished, "ada")
    on_board(page, furnished)
    menu = open_menu(page, menu_name)
    panel = menu.locator(".menu-panel")
    found = panel.evaluate(COVERED_ITEMS)
    assert found["count"], f"the {menu_name} shows no items"
    assert not found["problems"], f"{menu_name}: items a click cannot reach:\n" + "\n".join(found["problems"])

    # From inside the menu, as a keyboard user would be: Escape closes it and focus goes back to its button.
    panel.locator('a[href], button, input:not([type="hidden"]), select').first.focus()
    page.keyboard.press("Escape")
    expect(menu, f"Escape leaves the {menu_name} open").not_to_have_attribute("open", "")
    expect(panel).to_be_hidden()
    expect(menu_summary(page, menu_name), f"after Escape, focus is not back on the {menu_name}'s button").to_be_focused()


# Every page and state of the tour, at phone width (the dark ones look the same; the phone ones are already).
PHONE_STATES = [name for name in STATES if not name.startswith("dark-") and not name.endswith("-phone")]

WIDE_THINGS = """() => {
    // What sticks out past the screen's right edge, unless a scrolling ancestor on its
    // containing-block chain, itself within the screen, clips it (the lane strip #board-columns,
    // or anything else that scrolls inside itself, may be wider). An absolutely positioned
    // element escapes a scroller that is not positioned (a visually hidden text at the far end of
    // a lane makes the page wider); a fixed one escapes them all.
    const clipped = (el) => {
        const position = getComputedStyle(el).position;
        if (position === "fixed") return false;
        let skipping = position === "absolute";
        for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
            const style = getComputedStyle(up);
            if (skipping) {
                if (style.position === "static" && style.transform === "none") continue;
                skipping = false;
            }
            if (style.overflowX !== "visible" && up.getBoundingClientRect().right <= innerWidth + 0.5) return true;
            if (style.position === "fixed") return false;
            if (style.position === "absolute") skipping = true;
        }
        return false;
    };
    const wide = [];
    for (const el of document.body.querySelectorAll("*")) {
        const box = el.getBoundingClientRect();
        if (box.right <= innerWidth + 0.5 || !(box.width || box.height)) continue;  // only the right edge scrolls
        if (wide.some(outer => outer.contains(el)) || clipped(el)) continue;  // listed already, or scrolls inside
        wide.push(el);
        if (wide.length >= 10) break;
    }
    const name = (el) => {
        const box = el.getBoundingClientRect();
        const id = el.id ? "#" + el.id : "";
        const cls = typeof el.className === "string" && el.className.trim() ? "." + el.className.trim().split(/\\s+/).join(".") : "";
        const holder = el.parentElement && el.parentElement.closest("[id]");
        return `<${el.tagName.toLowerCase()}${id}${cls}>${holder ? " in #" + holder.id : ""} spans ` +
               `${box.left | 0}..${box.right | 0} (position: ${getComputedStyle(el).position})`;
    };
    return {scrollWidth: document.documentElement.scrollWidth, innerWidth, wide: wide.map(name)};
}"""


@pytest.mark.parametrize("state", PHONE_STATES)
def test_no_page_scrolls_sideways_on_a_phone(page: Page, furnished: Furnished, state: str):
    who, visit = STATES[state]
    as_user(page, furnished, who)
    page.set_viewport_size(PHONE)
    visit(page, furnished)
    found = page.evaluate(WIDE_THINGS)
    assert found["scrollWidth"] <= found["innerWidth"], (
        f"{state} ({page.url}) is {found['scrollWidth']} px wide on a {found['innerWidth']} px phone; "
        "what sticks out past its right edge, unclipped:\n"
        + "\n".join(found["wide"]))


@pytest.mark.parametrize("where", ["my-boards", "board"])
def test_log_out_is_within_reach_on_a_phone(page: Page, furnished: Furnished, where: str):
    as_user(page, furnished, "ada")
    page.set_viewport_size(PHONE)
    goto(page, "/boards/" if where == "my-boards" else furnished.board_path)
    open_user_menu(page)
    log_out = page.get_by_role("button", name="Log out", exact=True)
    expect(log_out).to_be_visible()
    box = log_out.bounding_box()
    assert box, "Log out has no box"
    assert box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= PHONE["width"] \
        and box["y"] + box["height"] <= PHONE["height"], f"Log out is not within the 390x844 screen: {box}"
    covered = log_out.evaluate("""(el) => { const b = el.getBoundingClientRect();
        const hit = document.elementFromPoint(b.left + b.width / 2, b.top + b.height / 2);
        return hit === el || el.contains(hit) ? "" : (hit ? hit.outerHTML.slice(0, 120) : "nothing"); }""")
    assert not covered, f"Log out is covered by {covered}"


def test_the_dark_theme_is_remembered_on_every_device(signed_up_page: Page, browser: Browser, browser_context_args, account):
    page = signed_up_page
    html = page.locator("html")
    choose_theme(page, "Dark")
    expect(html, "choosing Dark does not change the page at once").to_have_attribute("data-theme", "dark")
    page.reload()
    expect(html, "after a reload the page forgot the Dark theme").to_have_attribute("data-theme", "dark")
    open_user_menu(page)
    expect(page.get_by_role("button", name="Dark", exact=True)).to_have_attribute("aria-pressed", "true")

    other = browser.new_context(**browser_context_args)  # another device, the same person
    try:
        second = other.new_page()
        log_in(second, account)
        expect(second.locator("html"), "another browser logged in as the same person is not dark").to_have_attribute(
            "data-theme", "dark")
    finally:
        other.close()


def test_a_laptop_shows_at_least_four_columns(signed_up_page: Page):
    page = signed_up_page
    page.set_viewport_size(LAPTOP)
    create_board(page, "Five lanes")
    for title in ("Review", "Blocked"):
        add_column(page, title)
    page.reload()  # as the board opens, not scrolled to the column just added
    page.wait_for_load_state()
    lanes = page.locator("#board-columns section.column")
    expect(lanes).to_have_count(5)
    inside = lanes.evaluate_all("""(lanes) => lanes.map(lane => {
        const box = lane.getBoundingClientRect();
        return box.left >= 0 && box.right <= innerWidth && box.width > 0;
    })""")
    widths = lanes.evaluate_all("(lanes) => lanes.map(lane => Math.round(lane.getBoundingClientRect().width))")
    assert sum(inside) >= 4, f"only {sum(inside)} of 5 columns fit fully in 1280 px (column widths {widths})"


EDIT_BOX = """(form) => {
    const box = form.querySelector('input:not([type="hidden"])').getBoundingClientRect();
    const save = [...form.querySelectorAll("button")].find(b => /save/i.test(b.textContent)).getBoundingClientRect();
    const input = form.querySelector('input:not([type="hidden"])');
    return {input: box.width, save: save.width, fits: input.scrollWidth <= input.clientWidth + 1};
}"""


def test_renaming_in_place_gives_the_text_room(page: Page, furnished: Furnished):
    as_user(page, furnished, "ada")
    page.set_viewport_size(LAPTOP)
    on_board(page, furnished)

    page.locator("#board-title").get_by_title("Rename board").click()
    form = page.locator("form#board-title")
    expect(form.get_by_role("textbox")).to_be_focused()
    form_width = form.bounding_box()["width"]
    sizes = form.evaluate(EDIT_BOX)
    assert sizes["input"] >= 0.6 * form_width and sizes["save"] <= 0.4 * form_width and sizes["fits"], (
        f"renaming the board: the text box is {sizes['input']:.0f} px and Save {sizes['save']:.0f} px of the "
        f"{form_width:.0f} px header form (want >= 60 % and <= 40 %); the whole title fits: {sizes['fits']}")
    form.get_by_role("link", name="Cancel").click()
    expect(page.get_by_role("heading", name=BOARD, level=1)).to_be_visible()
    settled(page)

    # The column is named by its heading, which the form replaces: hold on to it by its id.
    lane = page.locator("#" + column(page, "Doing").get_attribute("id"))
    lane.get_by_role("heading", name="Doing").get_by_role("link").click()
    form = lane.locator("form.inline-edit")
    expect(form.get_by_role("textbox")).to_be_focused()
    lane_width = lane.bounding_box()["width"]
    sizes = form.evaluate(EDIT_BOX)
    assert sizes["input"] >= 0.6 * lane_width and sizes["save"] <= 0.4 * lane_width, (
        f"renaming a column: the text box is {sizes['input']:.0f} px and Save {sizes['save']:.0f} px of the "
        f"{lane_width:.0f} px column (want >= 60 % and <= 40 %)")
