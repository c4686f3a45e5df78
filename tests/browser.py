"""Open HTML files in a real headless Chromium (Debian's ``chromium`` driven by Playwright) and
report what a person would see: console errors, every network request, the size of every
figure, the page text, and a full-page screenshot."""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class Seen:
    errors: list[str] = field(default_factory=list)      # console errors and page errors
    requests: list[str] = field(default_factory=list)    # every URL the page asked for
    figures: list[tuple[str, float, float]] = field(default_factory=list)  # (tag, w, h)
    text: str = ""
    screenshot: Path | None = None


def need_browser() -> None:
    """Skip, saying why, where no browser exists (make test / .ci/run install one)."""
    if CHROMIUM is None:
        pytest.skip("no chromium on PATH: `apt-get install chromium` (make test does it)")
    pytest.importorskip("playwright", reason="playwright is in the dev extra: make test")


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium with a fresh profile and no background networking."""
    need_browser()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as profile, sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True,
            viewport={"width": 1280, "height": 900},
            args=["--no-sandbox", "--disable-background-networking", "--disable-gpu"])
        try:
            yield context
        finally:
            context.close()


def open_page(context: Any, page_path: Path, screenshot: Path) -> Seen:
    """Load ``page_path`` (file://), collect what happened, save a full-page screenshot."""
    seen = Seen(screenshot=screenshot)
    page = context.new_page()
    page.on("console", lambda m: seen.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: seen.errors.append(str(e)))
    page.on("request", lambda r: seen.requests.append(r.url))
    try:
        page.goto(page_path.resolve().as_uri(), wait_until="load")
        seen.figures = [tuple(f) for f in page.evaluate(
            """() => Array.from(document.querySelectorAll('svg, img'))
                 .filter(e => !e.parentElement.closest('svg'))
                 .map(e => { const r = e.getBoundingClientRect();
                             return [e.tagName.toLowerCase(), r.width, r.height]; })""")]
        seen.text = page.inner_text("body")
        page.screenshot(path=str(screenshot), full_page=True)
    finally:
        page.close()
    print(f"screenshot of {page_path.name}: {screenshot}", file=sys.stderr)
    return seen
