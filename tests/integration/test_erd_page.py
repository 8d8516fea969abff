"""The ERD page in a real browser: headless Chromium driven through the DevTools protocol.

The page for a generated 60-table layered schema (real PostgreSQL, `inv db-erd
--format html`) is opened from a file:// URL with the network off; the test
types in the search box, picks a match with the keyboard, clicks a table,
zooms and pans, and checks what the DOM shows after each step. Screenshots are
written next to the page (kept under $DBSTACK_ERD_SCREENSHOTS when set, to look
at them).
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import psycopg
import pytest

from erdgen import schema_sql
from testpaths import INV, ROOT, require_tool

pytestmark = pytest.mark.postgres


def _chromium() -> str:
    for name in ("chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return require_tool("chromium", "chromium")


class Browser:
    """One headless Chromium page, spoken to over the DevTools protocol (a websocket on 127.0.0.1)."""

    def __init__(self, width: int = 1400, height: int = 900):
        import websocket  # websocket-client, a dependency of the kubernetes client we already install

        self.profile = Path(tempfile.mkdtemp(prefix="dbstack-chromium-"))
        self.proc = subprocess.Popen(
            [
                _chromium(),
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-extensions",
                "--disable-background-networking",
                "--disable-sync",
                "--proxy-server=127.0.0.1:9",
                "--proxy-bypass-list=<-loopback>",  # nothing leaves this machine
                f"--user-data-dir={self.profile}",
                "--remote-debugging-port=0",
                "--remote-debugging-address=127.0.0.1",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.exists() and port_file.read_text().count("\n") >= 1):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.close()
                pytest.fail("Chromium did not start its DevTools endpoint")
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
            page = next(t for t in json.load(r) if t["type"] == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30, suppress_origin=True)
        self.ids = itertools.count(1)
        self.events: list[dict] = []

    def send(self, method: str, **params):
        msg_id = next(self.ids)
        self.ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == msg_id:
                if "error" in msg:
                    raise AssertionError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.events.append(msg)

    def wait_event(self, method: str, timeout: float = 30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for i, e in enumerate(self.events):
                if e.get("method") == method:
                    return self.events.pop(i)
            self.events.append(json.loads(self.ws.recv()))
        raise AssertionError(f"no {method} within {timeout}s")

    def js(self, expr: str):
        res = self.send("Runtime.evaluate", expression=expr, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in res:
            raise AssertionError(f"{expr}: {res['exceptionDetails']}")
        return res["result"].get("value")

    def key(self, key: str, code: str | None = None, text: str | None = None, shift: bool = False):
        vk = {
            "Enter": 13,
            "Escape": 27,
            "Tab": 9,
            "ArrowDown": 40,
            "ArrowUp": 38,
            "ArrowLeft": 37,
            "ArrowRight": 39,
        }.get(key)
        base = {"key": key, "code": code or key, "modifiers": 8 if shift else 0}
        if vk:
            base["windowsVirtualKeyCode"] = vk
        self.send("Input.dispatchKeyEvent", type="keyDown", text=text or "", **base)
        self.send("Input.dispatchKeyEvent", type="keyUp", **base)

    def click(self, x: float, y: float):
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)

    def screenshot(self, path: Path) -> bytes:
        data = base64.b64decode(self.send("Page.captureScreenshot", format="png")["data"])
        path.write_bytes(data)
        return data

    def close(self):
        try:
            self.ws.close()
        except Exception:  # noqa: BLE001 - the browser may have closed the socket already
            pass
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.profile, ignore_errors=True)


@pytest.fixture
def page_60(fresh_db, tmp_path):
    with psycopg.connect(**fresh_db.connect_kwargs(), autocommit=True) as c:
        c.execute(schema_sql(60))
    out = tmp_path / "erd.html"
    env = {k: v for k, v in os.environ.items() if not k.startswith("INVOKE_")}
    env["DATABASE_URL"] = fresh_db.url(masked=False)
    res = subprocess.run(
        [INV, "db-erd", "--format", "html", "--output", str(out), "--target", "cnpg"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    with psycopg.connect(**fresh_db.connect_kwargs()) as c:
        # the relationships of bronze.invoice_002, read from the catalog, not from the page
        rels = c.execute("""
            SELECT count(*) FROM pg_constraint k
            WHERE k.contype = 'f' AND (k.conrelid = 'bronze.invoice_002'::regclass
                                       OR k.confrelid = 'bronze.invoice_002'::regclass)""").fetchone()[0]
    return out, rels


@pytest.fixture
def browser():
    b = Browser()
    yield b
    b.close()


def _shots_dir(tmp_path: Path) -> Path:
    keep = os.environ.get("DBSTACK_ERD_SCREENSHOTS")
    d = Path(keep) if keep else tmp_path
    d.mkdir(parents=True, exist_ok=True)
    return d


def test_page_search_highlight_zoom_in_chromium(page_60, browser, tmp_path):
    page, rels = page_60
    shots = _shots_dir(tmp_path)
    b = browser
    b.send("Page.enable")
    b.send("Network.enable")
    b.send("Page.navigate", url=page.as_uri())
    b.wait_event("Page.loadEventFired")
    requests = [e for e in b.events if e.get("method") == "Network.requestWillBeSent"]
    assert [r["params"]["request"]["url"] for r in requests] == [page.as_uri()]  # nothing but the file itself

    first = b.screenshot(shots / "erd-overview.png")
    assert first[:8] == b"\x89PNG\r\n\x1a\n" and len(first) > 20_000  # a drawing, not a blank page
    vb0 = b.js("document.getElementById('erd').getAttribute('viewBox')")

    # keyboard: "/" focuses the search box; typing lists the matches
    b.key("/", code="Slash", text="/")
    assert b.js("document.activeElement.id") == "search"
    b.send("Input.insertText", text="invoice_00")
    assert b.js("[...document.querySelectorAll('#matches li')].map(li => li.textContent)") == [
        "bronze.invoice_002",
        "silver.invoice_002",
        "gold.invoice_002",
    ]
    b.key("ArrowDown")
    b.key("Enter")
    # the chosen table is selected, focused and centred; its relationships are highlighted, the rest faded
    state = b.js("""(() => {
        const svg = document.getElementById('erd'), sel = svg.querySelector('.entity.sel');
        const faded = [...svg.querySelectorAll('.entity:not(.hl)')];
        return {focus: svg.classList.contains('focus'), sel: sel && sel.dataset.table,
                active: document.activeElement.dataset ? document.activeElement.dataset.table : null,
                hlRels: svg.querySelectorAll('.rel.hl').length,
                fadedOpacity: faded.length ? getComputedStyle(faded[0]).opacity : null,
                selOpacity: getComputedStyle(sel).opacity,
                info: [...document.querySelectorAll('#info li')].map(li => li.textContent),
                viewBox: svg.getAttribute('viewBox')};
    })()""")
    assert state["focus"] and state["sel"] == "bronze.invoice_002" and state["active"] == "bronze.invoice_002"
    assert state["hlRels"] == rels > 0 and len(state["info"]) == rels
    assert float(state["fadedOpacity"]) < 0.5 <= float(state["selOpacity"])
    assert state["viewBox"] != vb0  # moved to the table
    b.screenshot(shots / "erd-search-highlight.png")

    # Escape clears; a mouse click on a table highlights that one
    b.key("Escape")
    assert b.js("document.getElementById('erd').classList.contains('focus')") is False
    target = b.js("""(() => {
        const g = [...document.querySelectorAll('.entity')].find(g => g.dataset.table !== 'bronze.invoice_002'
            && (() => {
            const r = g.getBoundingClientRect(); return r.width > 30 && r.top > 120 && r.bottom < innerHeight - 40
                && r.left > 0 && r.right < innerWidth; })());
        const r = g.querySelector('.head').getBoundingClientRect();
        return {name: g.dataset.table, x: r.left + r.width / 2, y: r.top + r.height / 2};
    })()""")
    b.click(target["x"], target["y"])
    assert b.js("document.querySelector('.entity.sel').dataset.table") == target["name"]
    b.screenshot(shots / "erd-click.png")

    # zoom with "+" and pan with Shift+arrow change the view box
    before = [float(v) for v in b.js("document.getElementById('erd').getAttribute('viewBox')").split()]
    b.js("document.activeElement.blur()")
    b.key("+", code="Equal", text="+")
    zoomed = [float(v) for v in b.js("document.getElementById('erd').getAttribute('viewBox')").split()]
    assert zoomed[2] < before[2]
    b.key("ArrowRight", shift=True)
    panned = [float(v) for v in b.js("document.getElementById('erd').getAttribute('viewBox')").split()]
    assert panned[0] > zoomed[0]
    # keyboard only: Tab from the last toolbar button reaches the first table, Enter selects it
    b.key("Escape")
    b.js("document.getElementById('fit').focus()")
    b.key("Tab", code="Tab")
    first = b.js("document.querySelector('.entity').dataset.table")
    assert b.js("document.activeElement.dataset.table") == first
    b.key("Enter")
    assert b.js("document.querySelector('.entity.sel').dataset.table") == first
    assert b.js("document.querySelector('#info button') !== null")

    # text is laid out as the layout assumed: every table's text fits its box in the real font
    overflow = b.js("""[...document.querySelectorAll('.entity')].flatMap(g => {
        const box = g.querySelector('.box').getBBox();
        return [...g.querySelectorAll('text')].filter(t => { const r = t.getBBox();
            return r.x < box.x || r.x + r.width > box.x + box.width + 0.5; }).map(t => t.textContent);
    })""")
    assert overflow == []
    labels = b.js("""[...document.querySelectorAll('.rel')].filter(g => g.querySelector('rect.lbl')).filter(g => {
        const r = g.querySelector('rect.lbl').getBBox(), t = g.querySelector('text').getBBox();
        return t.x < r.x - 0.5 || t.x + t.width > r.x + r.width + 0.5; }).map(g => g.dataset.fk)""")
    assert labels == []
