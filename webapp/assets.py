"""Corkboard's own stylesheets and scripts, served as one minified, content-hashed file each.

`make setup` runs `python -m webapp.assets`, which joins the files of each bundle below in order,
minifies them (rcssmin for styles; esbuild, pinned in package.json, for scripts: it also shortens
names, a quarter smaller than stripping whitespace alone), names the result after its content
(static/dist/corkboard.3f9c1e2a.css) and records the names in static/dist/manifest.json. A page
then loads two files instead of seven, a third lighter, which a browser may keep for a year: a
change gives a new name. In debug mode (`make dev`) the sources are linked one by one, so an edit
shows on the next reload without a build.
"""
import hashlib
import json
import subprocess
from pathlib import Path

import rcssmin
from flask import current_app, url_for
from markupsafe import Markup

BUNDLES = {
    "corkboard.css": ("app.css", "labels.css"),  # every page, and all the board's first screen needs
    "card.css": ("card.css", "keyboard.css", "comments.css"),  # dialogs: the board loads them with the first one
    "pages.css": ("pages.css",),  # the other pages
    "corkboard.js": ("app.js", "keyboard.js"),
    "card.js": ("comments.js", "attachments.js"),  # a card's detail: the board loads it with the card's dialog
}
STYLESHEETS = tuple(name for name in BUNDLES if name.endswith(".css"))
SCRIPTS = tuple(name for name in BUNDLES if name.endswith(".js"))
DIST = "dist"
ESBUILD = Path(__file__).resolve().parent.parent / "node_modules" / ".bin" / "esbuild"


def minify_js(text: str) -> str:
    """Each script is its own function scope, so esbuild may rename everything inside it."""
    done = subprocess.run([str(ESBUILD), "--minify", "--loader=js", "--target=es2020", "--log-level=error"],
                          input=text, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"esbuild could not minify the scripts:\n{done.stderr}")
    return done.stdout


MINIFY = {".css": rcssmin.cssmin, ".js": minify_js}


def max_age(filename: str) -> int | None:
    """How long a browser may keep a static file: a year for a built one (its name changes with it)."""
    return 365 * 24 * 3600 if filename and filename.startswith(DIST + "/") else None  # None: a file object


def build(static: Path) -> dict:
    out = static / DIST
    out.mkdir(exist_ok=True)
    manifest = {}
    for name, sources in BUNDLES.items():
        stem, suffix = name.rsplit(".", 1)
        text = "\n".join(MINIFY["." + suffix]((static / source).read_text()) for source in sources)
        digest = hashlib.sha256(text.encode()).hexdigest()[:10]
        built = f"{stem}.{digest}.{suffix}"
        (out / built).write_text(text)
        manifest[name] = f"{DIST}/{built}"
    built = {Path(path).name for path in manifest.values()}
    for old in out.glob("*.*.*"):  # earlier builds
        if old.name not in built:
            old.unlink()
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def _files(bundle: str) -> list[str]:
    """The static files a page links for a bundle: the built one, or in debug mode the sources."""
    if current_app.debug:
        return list(BUNDLES[bundle])
    manifest = current_app.extensions.get("corkboard_assets")
    if manifest is None:
        path = Path(current_app.static_folder) / DIST / "manifest.json"
        manifest = json.loads(path.read_text()) if path.exists() else {}
        current_app.extensions["corkboard_assets"] = manifest
    return [manifest[bundle]] if bundle in manifest else list(BUNDLES[bundle])


def stylesheets(*bundles: str) -> Markup:
    """The links of the named style bundles, by default all of them."""
    return Markup("\n  ".join(f'<link rel="stylesheet" href="{url_for("static", filename=name)}">'
                              for bundle in bundles or STYLESHEETS for name in _files(bundle)))


def scripts(*bundles: str, fragment: bool = False) -> Markup:
    """The script tags of the named bundles, by default all of them. A fragment names its scripts
    with preload links instead: htmx drops the script tags it swaps in, static/app.js runs these."""
    tag = ('<link rel="preload" as="script" href="{}">' if fragment else '<script src="{}" defer></script>')
    return Markup("\n  ".join(tag.format(url_for("static", filename=name))
                              for bundle in bundles or SCRIPTS for name in _files(bundle)))


if __name__ == "__main__":
    import sys
    for bundle, path in build(Path(sys.argv[1] if len(sys.argv) > 1 else "static")).items():
        print(f"{bundle} -> static/{path}")
