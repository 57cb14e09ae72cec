"""Corkboard's own stylesheets and scripts, served as one minified, content-hashed file each.

`make setup` runs `python -m webapp.assets`, which joins the files of each bundle below in order,
strips comments and whitespace (rcssmin, rjsmin), names the result after its content
(static/dist/corkboard.3f9c1e2a.css) and records the names in static/dist/manifest.json. A page
then loads two files instead of seven, a third lighter, which a browser may keep for a year: a
change gives a new name. In debug mode (`make dev`) the sources are linked one by one, so an edit
shows on the next reload without a build.
"""
import hashlib
import json
from pathlib import Path

import rcssmin
import rjsmin
from flask import current_app, url_for
from markupsafe import Markup

BUNDLES = {
    "corkboard.css": ("app.css", "labels.css", "comments.css", "keyboard.css"),
    "corkboard.js": ("app.js", "keyboard.js", "comments.js"),
}
MINIFY = {".css": rcssmin.cssmin, ".js": rjsmin.jsmin}
DIST = "dist"


def max_age(filename: str) -> int | None:
    """How long a browser may keep a static file: a year for a built one (its name changes with it)."""
    return 365 * 24 * 3600 if filename.startswith(DIST + "/") else None


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
    for old in out.glob("corkboard.*"):  # earlier builds
        if old.name not in {Path(path).name for path in manifest.values()}:
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


def stylesheets() -> Markup:
    return Markup("\n  ".join(f'<link rel="stylesheet" href="{url_for("static", filename=name)}">'
                              for name in _files("corkboard.css")))


def scripts() -> Markup:
    return Markup("\n  ".join(f'<script src="{url_for("static", filename=name)}" defer></script>'
                              for name in _files("corkboard.js")))


if __name__ == "__main__":
    import sys
    for bundle, path in build(Path(sys.argv[1] if len(sys.argv) > 1 else "static")).items():
        print(f"{bundle} -> static/{path}")
