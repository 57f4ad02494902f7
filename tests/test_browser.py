"""The series as a student meets it, in a real browser: each notebook run in JupyterLab (Debian's Chromium driven by
Playwright), its widgets and plotly figures drawn, its sliders redrawing their figures; then the book of the executed
series (`nml-tutorial book`) read the same way.

Skipped, with the reason, where Chromium or Playwright is missing (`tools/install_system_packages.sh` installs
Chromium). It follows the papermill series run (`notebook_run`), so every run is in the cache and the notebooks
execute warm. Screenshots land in test-artifacts/browser/.
"""

import functools
import http.server
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest

from nml_tutorial.book import build_book
from nml_tutorial.series import series

pytestmark = [pytest.mark.slow, pytest.mark.browser]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
REPO = Path(__file__).resolve().parent.parent
TOKEN = secrets.token_hex(16)  # the lab runs code for whoever has it
PLOTLY, WIDGET = "application/vnd.plotly.v1+json", "application/vnd.jupyter.widget-view+json"
SLIDERS = {"01_noise": "noise ratio", "03_id_ood": "noise", "04_spectrum": "noise"}  # notebook -> slider label
NOTEBOOK_SECONDS = 600  # the longest warm notebook takes ~1 min here

# JupyterLab settings for a test: every cell kept in the page (no windowing), no news or update checks (no network).
SETTINGS = {"@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
            "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                                 "checkForUpdates": False}}


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("Chromium not found: the browser tests need Debian's chromium (apt-get install chromium; "
                    "tools/install_system_packages.sh installs it)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e .[dev])")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"])
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def lab(browser, notebook_run, run_cache, tmp_path_factory):
    """JupyterLab from this environment on a free loopback port, over a copy of notebooks/ whose CACHE_DIR
    (../.cache) is the repository's warm run cache. Yields the lab's URL and the copy's root."""
    root = tmp_path_factory.mktemp("lab")
    shutil.copytree(REPO / "notebooks", root / "notebooks")
    (root / ".cache").symlink_to(run_cache, target_is_directory=True)
    for name, values in SETTINGS.items():
        (root / "settings" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "settings" / name).write_text(json.dumps(values))
    # the user's own Jupyter folders left out: the kernel is this environment's python3 (sys.prefix's kernelspec)
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(root / "config"), "JUPYTER_RUNTIME_DIR": str(root / "runtime"),
           "JUPYTER_DATA_DIR": str(root / "data"), "JUPYTERLAB_WORKSPACES_DIR": str(root / "workspaces"),
           "HF_HUB_OFFLINE": "1"}
    log = open(root / "lab.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={_free_port()}",
         f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={root}",
         f"--LabApp.user_settings_dir={root / 'settings'}"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        url = _wait_for_server(server, root / "runtime", root / "lab.log")
        yield url, root
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_server(server, runtime: Path, log: Path, seconds: float = 120) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with {server.returncode}:\n{log.read_text()[-3000:]}")
        for info in runtime.glob("jpserver-*.json"):  # where the server says which port it took
            try:
                url = json.loads(info.read_text())["url"].rstrip("/")
                urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=5)
                return url
            except (OSError, ValueError, KeyError):  # not answering yet, or the file half-written
                pass
        time.sleep(0.5)
    raise RuntimeError(f"JupyterLab did not answer within {seconds:.0f} s:\n{log.read_text()[-3000:]}")


# Where a run stands: "running" (the kernel busy or a cell queued, [*]), "done" (every cell numbered), or "stopped"
# (idle, nothing queued, some cell never run: a cell failed and Run All unqueued the rest, or the next cell is about
# to be sent, so "stopped" only counts once it lasts).
STATE = """() => {
    const busy = document.querySelector('.jp-Notebook-ExecutionIndicator')?.dataset.status !== 'idle';
    const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(e => e.textContent);
    if (busy || prompts.length === 0 || prompts.some(p => p.includes('*'))) return 'running';
    return prompts.every(p => /\\[\\d+\\]/.test(p)) ? 'done' : 'stopped';
}"""
STOPPED_SECONDS = 15


def _wait_until_finished(page, name: str) -> None:
    deadline, stopped_since = time.monotonic() + NOTEBOOK_SECONDS, None
    while time.monotonic() < deadline:
        state = page.evaluate(STATE)
        if state == "done":
            return
        stopped_since = (stopped_since or time.monotonic()) if state == "stopped" else None
        if stopped_since and time.monotonic() - stopped_since > STOPPED_SECONDS:
            return  # a cell failed: the checks on the saved notebook name it
        time.sleep(1)
    pytest.fail(f"{name} still running after {NOTEBOOK_SECONDS} s in JupyterLab")


# The figures inside an output area holding a slider: their traces, title and annotations, for a before/after compare.
WIDGET_FIGURES = """(label) => {
    const area = [...document.querySelectorAll('.jp-OutputArea-output')].find(a =>
        [...a.querySelectorAll('.widget-slider .widget-label')].some(l => l.textContent.trim() === label));
    return JSON.stringify([...area.querySelectorAll('.js-plotly-plot')].map(g =>
        [g.data.map(t => [t.x, t.y, t.z]), g.layout.title, g.layout.annotations]));
}"""


STARTED = """() => [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
    .some(e => /[*\\d]/.test(e.textContent))"""


def _run_all(page, url: str, name: str) -> float:
    # a workspace of its own, reset: JupyterLab would otherwise reopen the notebooks of the tests before
    page.goto(f"{url}/lab/workspaces/{name}/tree/notebooks/{name}.ipynb?reset&token={TOKEN}")
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000)
    _wait_for_kernel(url)
    started = time.monotonic()
    for _ in range(3):  # a click before the notebook is wired to its kernel runs nothing: try again
        page.click(".lm-MenuBar-itemLabel:text-is('Run')")
        page.click("li[data-command='runmenu:run-all']")
        try:
            page.wait_for_function(STARTED, timeout=30_000)
            break
        except Exception:
            page.keyboard.press("Escape")
    else:
        pytest.fail(f"{name}: Run All Cells started no cell in three tries")
    _wait_until_finished(page, name)
    seconds = time.monotonic() - started
    page.keyboard.press("Control+s")  # the executed notebook, as the browser holds it, for the checks below
    page.wait_for_function("() => !document.querySelector('.jp-mod-dirty')", timeout=60_000)
    return seconds


def _wait_for_kernel(url: str, seconds: float = 180) -> None:
    """The page shows "idle" before its kernel has answered (the first kernel of a session takes longest): wait until
    the server has a kernel that is idle with the page connected to it."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if any(k["execution_state"] == "idle" and k.get("connections", 0) > 0 for k in _kernels(url)):
            time.sleep(2)  # the page's own kernel status catches up
            return
        time.sleep(1)
    pytest.fail(f"no kernel was idle and connected within {seconds:.0f} s")


def _kernels(url: str, tries: int = 10) -> list[dict]:
    """The server's kernels. jupyter_server answers 500 when asked while a kernel is starting (its last_activity is
    not set yet: a TraitError in kernel_model, seen in lab.log), so a 5xx answer is asked again a moment later."""
    for attempt in range(tries):
        try:
            with urllib.request.urlopen(f"{url}/api/kernels?token={TOKEN}") as reply:
                return json.load(reply)
        except urllib.error.HTTPError as err:
            if err.code < 500 or attempt == tries - 1:
                raise
            time.sleep(1)
    return []


@pytest.fixture
def lab_page(browser, lab):
    """A fresh page on the lab; afterwards every kernel is stopped (each holds its notebook's data)."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    yield page
    page.close()
    url = lab[0]
    for kernel in _kernels(url):
        request = urllib.request.Request(f"{url}/api/kernels/{kernel['id']}?token={TOKEN}", method="DELETE")
        urllib.request.urlopen(request).close()


@pytest.mark.parametrize("name", [p.stem for p in series()])
def test_each_notebook_runs_in_jupyterlab_with_its_widgets_and_figures_drawn(lab, lab_page, name, artifacts):
    url, root = lab
    page, page_errors = lab_page, []
    page.on("pageerror", lambda err: page_errors.append(str(err)))
    seconds = _run_all(page, url, name)
    executed = nbformat.read(root / "notebooks" / f"{name}.ipynb", as_version=4)
    outputs = [o for c in executed.cells if c.cell_type == "code" for o in c.outputs]
    errors = [f"{o.ename}: {o.evalue}" for o in outputs if o.output_type == "error"]
    assert not errors, f"{name} failed in JupyterLab after {seconds:.0f} s: {errors[0]}"
    assert all(c.execution_count for c in executed.cells if c.cell_type == "code"), f"{name}: cells left unrun"
    assert page.get_by_text("Error displaying widget").count() == 0, f"{name}: a widget did not display"
    # every plotly output and every figure of a widget is drawn: plotly.js made its SVG
    # the package's explorers carry their figures as a static fallback (progress bars are widgets too, without)
    widgets = [o for o in outputs if WIDGET in o.get("data", {}) and "nml-static-widget" in o.data.get("text/html", "")]
    expected = sum(PLOTLY in o.get("data", {}) for o in outputs)
    expected += sum(o.data["text/html"].count("Plotly.newPlot") for o in widgets)
    drawn = _drawn(page)
    assert drawn == expected and expected > 0, f"{name}: {drawn} plotly figures drawn, {expected} in its outputs"
    if name in SLIDERS:
        assert widgets and page.locator(".widget-slider").count() >= 1, f"{name}: its explorer widget is missing"
        label = SLIDERS[name]
        area = page.locator(".jp-OutputArea-output", has=page.locator(".widget-slider .widget-label",
                                                                     has_text=re.compile(f"^{label}$")))
        area.scroll_into_view_if_needed()
        area.screenshot(path=str(_shots(artifacts) / f"{name}_widget_before.png"))
        before, readout = page.evaluate(WIDGET_FIGURES, label), area.locator(".widget-readout").text_content()
        handle = area.locator(".noUi-handle").first
        handle.focus()
        handle.press("ArrowLeft")  # one step down: 20 % -> 15 % in 01, the highest noise -> the next in 03/04
        page.wait_for_function(f"(before) => ({WIDGET_FIGURES})({json.dumps(label)}) !== before", arg=before,
                               timeout=60_000)
        area.screenshot(path=str(_shots(artifacts) / f"{name}_widget_after.png"))
        assert area.locator(".widget-readout").text_content() != readout, f"{name}: the slider did not move"
    page.locator(".js-plotly-plot").first.scroll_into_view_if_needed()
    page.screenshot(path=str(_shots(artifacts) / f"{name}.png"))
    assert not page_errors, f"{name}: JavaScript errors in JupyterLab: {page_errors[:3]}"
    print(f"{name}: ran in {seconds:.0f} s in JupyterLab; {drawn} plotly figures drawn; {len(widgets)} widget(s)")


def _drawn(page) -> int:
    """Plotly figures on the page that plotly.js has drawn (made their SVG)."""
    return page.locator(".js-plotly-plot .main-svg").evaluate_all(
        "svgs => new Set(svgs.map(s => s.closest('.js-plotly-plot'))).size")


def _shots(artifacts: Path) -> Path:
    path = artifacts / "browser"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="module")
def book(notebook_run, artifacts):
    """The book of the series the papermill run executed, served on a free loopback port: (URL, folder)."""
    out, _ = notebook_run
    folder = artifacts / "book"
    shutil.rmtree(folder, ignore_errors=True)
    build_book(out, folder)
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = _BookServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", folder
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class _BookServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):  # the browser left a page before plotly.js arrived
            super().handle_error(request, client_address)


def test_the_book_loads_draws_its_figures_and_has_no_broken_links(browser, book, artifacts):
    url, folder = book
    pages = sorted(p.name for p in folder.glob("*.html"))
    assert pages == sorted(["index.html"] + [f"{p.stem}.html" for p in series()])
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page_errors, checked, outside = [], set(), set()
    page.on("pageerror", lambda err: page_errors.append(str(err)))

    def offline(route):  # the book must work without a network: anything not served by the book is refused
        if route.request.url.startswith(url):
            route.continue_()
        else:
            outside.add(route.request.url.split("/")[2])
            route.abort()

    page.route("**/*", offline)
    for name in pages:
        response = page.goto(f"{url}/{name}")
        assert response.ok, f"{name}: HTTP {response.status}"
        page.wait_for_load_state("load")
        expected = (folder / name).read_text().count("Plotly.newPlot")
        drawn = _drawn(page)
        assert drawn == expected, f"{name}: {drawn} of its {expected} plotly figures drawn"
        links = page.locator("a[href]").evaluate_all("as => as.map(a => a.getAttribute('href'))")
        for link in links:
            target = link.split("#")[0]
            if not target or re.match(r"^[a-z]+:", target) or target in checked:
                continue  # same-page anchors and outside addresses (arxiv.org) are not the book's to serve
            try:
                urllib.request.urlopen(f"{url}/{target}").close()
            except urllib.error.HTTPError as err:
                pytest.fail(f"{name} links to {target}: HTTP {err.code}")
            checked.add(target)
        page.screenshot(path=str(_shots(artifacts) / f"book_{Path(name).stem}.png"))
    index = (folder / "index.html").read_text()
    assert "The study's claims, as this run measured them" in index and "<td>C3</td>" in index, "the claim table"
    assert {f"{p.stem}.html" for p in series()} <= checked, "the contents link every notebook"
    assert any(t.endswith(".svg") for t in checked) and any(t.endswith(".png") for t in checked), "slide figures"
    assert not page_errors, f"JavaScript errors in the book: {page_errors[:3]}"
    print(f"book: {len(pages)} pages, {len(checked)} links checked; refused, as offline: {sorted(outside)}")
    page.close()
