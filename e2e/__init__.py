"""Browser tests: Playwright drives Chromium against a real Hypercorn (see conftest.py)."""
