"""axe-core in the browser tests: run it on the page as it is now and describe what it found.

axe-core is pinned in package.json (devDependencies) and installed by `make setup` (`npm ci`);
the tests load it from node_modules, nothing is fetched at run time.

How it gets into the page: the pages send a strict Content-Security-Policy (no inline scripts),
so `page.add_script_tag(content=...)` would be refused (and logged as a console error, which
fails the test). `page.evaluate(source)` runs the script through the DevTools protocol, which
the page's CSP does not govern, so axe runs in the very page users get. A context with
`bypass_csp=True` would work too, but it would switch the policy off for the whole page and
hide the CSP violations the suite exists to catch.
"""
from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page

AXE_JS = Path(__file__).resolve().parent.parent / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")  # the impacts that fail a test
MAX_NODES = 8  # targets listed per rule in a failure message

_source: str | None = None


def _axe_source() -> str:
    global _source
    if _source is None:
        if not AXE_JS.exists():
            raise FileNotFoundError(f"{AXE_JS} is missing: run `make setup` (npm ci installs axe-core)")
        # A trailing expression, so that Playwright evaluates the file as a script, not as a function.
        _source = AXE_JS.read_text() + "\n;true"
    return _source


def settle_animations(page: Page, timeout_ms: int = 1000) -> None:
    """Let transitions and animations end (a menu fading in would be measured mid-way by the
    contrast check); endless ones (a spinner) are left after `timeout_ms`."""
    page.evaluate("""(timeout) => Promise.race([
        Promise.all(document.getAnimations().filter(a => a.effect && a.effect.getTiming().iterations !== Infinity)
                                           .map(a => a.finished.catch(() => null))),
        new Promise(resolve => setTimeout(resolve, timeout)),
    ])""", timeout_ms)


def run_axe(page: Page, context: str | None = None) -> list[dict]:
    """axe-core's violations on the page now (or within the `context` selector), every impact."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(_axe_source())
    settle_animations(page)
    return page.evaluate("""async (context) => {
        const results = await axe.run(context ? document.querySelector(context) : document,
                                      {resultTypes: ["violations"]});
        return results.violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
            nodes: v.nodes.map(n => ({target: n.target.map(String).join(" "), html: n.html,
                                      summary: n.failureSummary || ""})),
        }));
    }""", context)


def blocking(violations: list[dict]) -> list[dict]:
    return [v for v in violations if v["impact"] in BLOCKING]


def describe(violations: list[dict], where: str) -> str:
    """A failure message a developer can fix from: rule, impact, help, and each element's
    selector with axe's reason (e.g. the contrast ratio and both colours)."""
    lines = [f"axe-core found {len(violations)} serious/critical violation(s) on {where}:"]
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']} <{v['helpUrl']}>")
        for node in v["nodes"][:MAX_NODES]:
            reason = " ".join(line.strip() for line in node["summary"].splitlines()[1:] if line.strip())
            lines.append(f"    {node['target']}  {node['html'][:120]}")
            if reason:
                lines.append(f"      -> {reason[:300]}")
        if len(v["nodes"]) > MAX_NODES:
            lines.append(f"    ... and {len(v['nodes']) - MAX_NODES} more")
    return "\n".join(lines)


def assert_no_serious_violations(page: Page, where: str, context: str | None = None) -> None:
    found = blocking(run_axe(page, context))
    assert not found, describe(found, where)
