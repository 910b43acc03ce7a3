"""Every page of the app is checked by axe-core: the e2e accessibility test's
list of pages (tests/e2e/pages.py) covers every view that answers GET in the
declared access table (which test_access_matrix.py proves covers the URL map)."""

from __future__ import annotations

from tests.app import access_table as T
from tests.e2e.pages import NOT_PAGES, PAGES


def _get_views() -> set[str]:
    return {name for name, door in T.ACCESS.items() if not door.admin and "GET" in door.allowed}


def test_every_page_is_checked_by_axe():
    missing = _get_views() - set(PAGES) - set(NOT_PAGES)
    assert not missing, f"add these pages to tests/e2e/pages.py (PAGES, or NOT_PAGES with a reason): {sorted(missing)}"


def test_the_page_list_names_only_real_get_views():
    stale = (set(PAGES) | set(NOT_PAGES)) - _get_views()
    assert not stale, f"not a GET view in the access table: {sorted(stale)}"


def test_every_scrolling_table_is_a_labelled_keyboard_region():
    """A table that may scroll sideways on a phone is reachable by keyboard and
    named (axe: scrollable-region-focusable), in every template, not just the
    pages the e2e data happens to make wide."""
    import re
    from pathlib import Path

    templates = Path(__file__).resolve().parents[2] / "clinic_app" / "registry" / "templates"
    bad = []
    for path in templates.rglob("*.html"):
        for tag in re.findall(r"<div[^>]*class=\"tablewrap\"[^>]*>", path.read_text(encoding="utf-8")):
            if 'tabindex="0"' not in tag or 'role="region"' not in tag or 'aria-label="' not in tag:
                bad.append(f"{path.relative_to(templates)}: {tag}")
    assert not bad, bad
