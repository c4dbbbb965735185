"""The page in a real browser: headless Chromium driven by Playwright.

Types the seed examples, checks the typeset derivative (KaTeX) and its text, the step
table's rows, the graph's SVG, the error caret of a typo, that a link reproduces the
result, and that the page asks nothing of any other host (it works offline). Saves
``docs/serve.png`` for the README.

Needs ``pip install playwright`` (its Python package only: no ``playwright install``)
and Debian's ``chromium`` (``apt-get install chromium``), or ``SYMBACK_CHROMIUM`` naming
another Chromium binary; skipped with the reason otherwise.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import urlencode

import pytest

pytest.importorskip("starlette", reason="the web extra is not installed: pip install '.[web]'")
pytest.importorskip("uvicorn", reason="the web extra is not installed: pip install '.[web]'")
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed: pip install playwright")

from webserver import running

import symback as sb
from symback.web import create_app

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("SYMBACK_CHROMIUM") or shutil.which("chromium") or \
    shutil.which("chromium-browser") or "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    pytest.skip("no Chromium binary (apt-get install chromium, or set SYMBACK_CHROMIUM)",
                allow_module_level=True)

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        "--disable-dev-shm-usage"]


@pytest.fixture(scope="module")
def base():  # type: ignore[no-untyped-def]
    with running(create_app(workers=2)) as url:
        yield url


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    with sync_api.sync_playwright() as p:
        try:
            b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        except Exception as e:  # noqa: BLE001 - a browser that does not start is a skip
            pytest.skip(f"Chromium at {CHROMIUM} does not start under Playwright: {e}")
        yield b
        b.close()


@pytest.fixture
def page(browser, base):  # type: ignore[no-untyped-def]
    ctx = browser.new_context(viewport={"width": 1240, "height": 1100}, device_scale_factor=1)
    pg = ctx.new_page()
    pg.foreign = []  # type: ignore[attr-defined]
    pg.on("request", lambda r: None if r.url.startswith(base) else pg.foreign.append(r.url))
    yield pg
    ctx.close()


def submit(page, expr: str, shapes: str = "", wrt: str = "", **opts: str) -> None:  # type: ignore[no-untyped-def]
    page.fill("#expr", expr)
    page.fill("#shapes", shapes)
    page.fill("#wrt", wrt)
    page.fill("#onehot", opts.get("onehot", ""))
    page.select_option("#mode", opts.get("mode", "grad"))
    page.evaluate("document.body.dataset.state = 'working'")
    page.press("#expr", "Enter")
    page.wait_for_selector("body:not([data-state='working'])", state="attached", timeout=30_000)


def grad_texts(page) -> list[str]:  # type: ignore[no-untyped-def]
    return [t.strip() for t in page.locator(".grad-text").all_inner_texts()]


def test_seed_examples_typed_into_the_page(page, base) -> None:  # type: ignore[no-untyped-def]
    page.goto(base + "/")
    page.wait_for_selector("body[data-ready='1']")
    assert page.evaluate("typeof window.katex") == "object"  # the vendored KaTeX loaded

    submit(page, "3*(a + b*c)", wrt="a b c")  # E1
    assert grad_texts(page) == ["dL/da = 3", "dL/db = 3 * c", "dL/dc = 3 * b"]
    assert page.locator("#steps-table tr.step-row").count() == 6  # dL/dL, v, u, c, b, a
    assert page.locator(".forward-row").count() == 3

    submit(page, "-(y*log(sigmoid(z)) + (1 - y)*log(1 - sigmoid(z)))", wrt="z")  # E2
    latex = page.locator(".grad-latex .katex-mathml annotation").first.text_content() or ""
    assert latex.endswith(r"\sigma(z) - y")
    assert "σ" in page.locator(".grad-latex .katex-html").first.inner_text()

    submit(page, "sum(sigmoid(X @ W))", "X=n,3 W=3,2", "X W")  # E3
    assert grad_texts(page) == ["dL/dX = sigmoid(X @ W) * (1 - sigmoid(X @ W)) @ W.T",
                                "dL/dW = X.T @ (sigmoid(X @ W) * (1 - sigmoid(X @ W)))"]
    assert page.locator("#steps-table tr.step-row").count() >= 5
    svg = page.locator("#graph svg")
    assert svg.count() == 1 and page.locator("#graph svg g.derivative").count() >= 3
    assert page.locator("#graph svg g.forward").count() >= 4
    assert "✓" in page.locator("#check-result").inner_text()
    assert "def _symback_fn" in page.locator("#source").inner_text()
    assert page.locator(".grad-latex .katex").count() == 2

    submit(page, "sum((X @ W - y)**2) / 2", "X=n,3 W=3,1 y=n,1", "W")  # E4
    assert grad_texts(page) == ["dL/dW = X.T @ (X @ W - y)"]
    assert page.foreign == []  # nothing fetched from any other host


def test_a_typo_shows_the_parser_message_and_a_caret(page, base) -> None:  # type: ignore[no-untyped-def]
    page.goto(base + "/")
    page.wait_for_selector("body[data-ready='1']")
    text = "sum(sigmoid(X @@ W))"
    with pytest.raises(sb.ParseError) as info:
        sb.parse(text, {"X": (3, 3), "W": (3, 2)})
    submit(page, text, "X=3,3 W=3,2", "W")
    box = page.locator("#expr-error")
    assert box.is_visible()
    assert info.value.message in box.inner_text()
    caret = page.locator("#expr-error .caret")
    assert caret.get_attribute("data-position") == str(info.value.position)
    assert caret.inner_text() == " " * info.value.position + "^"
    assert "invalid" in (page.locator("#expr").get_attribute("class") or "")
    assert not page.locator("#results").is_visible()  # no stale result under the error
    # fixing it clears the error
    submit(page, "sum(sigmoid(X @ W))", "X=3,3 W=3,2", "W")
    assert not box.is_visible() and len(grad_texts(page)) == 1


def test_every_example_button_gives_a_checked_result(page, base) -> None:  # type: ignore[no-untyped-def]
    page.goto(base + "/")
    page.wait_for_selector("body[data-ready='1']")
    buttons = page.locator("button.example")
    assert buttons.count() >= 7
    for k in range(buttons.count()):
        page.evaluate("document.body.dataset.state = 'working'")
        buttons.nth(k).click()
        page.wait_for_selector("body:not([data-state='working'])", state="attached",
                               timeout=30_000)
        label = buttons.nth(k).inner_text()
        assert page.get_attribute("body", "data-state") == "done", label
        assert page.locator(".grad-latex .katex").count() >= 1, label
        assert "✓" in page.locator("#check-result").inner_text(), label
        assert "expr=" in page.url  # the query is in the address bar


def test_named_intermediates_and_the_hessian_option(page, base) -> None:  # type: ignore[no-untyped-def]
    page.goto(base + "/")
    page.wait_for_selector("body[data-ready='1']")
    page.check("#named")
    submit(page, "sum(sigmoid(X @ W))", "X=n,3 W=3,2", "W")
    tex = page.locator(".grad-latex .katex-mathml annotation").first.text_content() or ""
    assert tex.startswith("\\begin{aligned}\n\\frac{\\partial L}{\\partial W} &= X^{T}")
    assert "T_{1} = \\sigma(X W)" in tex
    page.uncheck("#named")
    submit(page, "sum(softplus(X @ w) - y * (X @ w))", "X=m,n w=n y=m", "w", mode="hessian")
    assert grad_texts(page)[0].startswith("d²L/dw² = ")
    assert "✓" in page.locator("#check-result").inner_text()
    assert "named" not in page.url and "mode=hessian" in page.url


def test_other_mistakes_show_under_their_field(page, base) -> None:  # type: ignore[no-untyped-def]
    page.goto(base + "/")
    page.wait_for_selector("body[data-ready='1']")
    submit(page, "a * b", wrt="q")
    assert page.locator("#wrt-error").is_visible()
    assert "'q' does not appear" in page.locator("#wrt-error").inner_text()
    submit(page, "sum(X)", "X=3,", "X")
    assert page.get_attribute("body", "data-state") == "done"  # a trailing comma is fine
    submit(page, "sum(X)", "X=3,x1.5", "X")
    assert page.locator("#shapes-error").is_visible()


def test_a_link_reproduces_the_result_and_the_screenshot(page, base) -> None:  # type: ignore[no-untyped-def]
    query = urlencode({"expr": "sum(sigmoid(X @ W))", "shapes": "X=n,3 W=3,2", "wrt": "W"})
    page.goto(f"{base}/?{query}")
    page.wait_for_selector("body[data-state='done']", timeout=30_000)
    assert grad_texts(page) == ["dL/dW = X.T @ (sigmoid(X @ W) * (1 - sigmoid(X @ W)))"]
    assert page.input_value("#shapes") == "X=n,3 W=3,2"
    # the form's own link holds the same query
    submit(page, "sum(sigmoid(X @ W))", "X=n,3 W=3,2", "X W")
    href = page.get_attribute("#permalink", "href")
    page.goto(base + "/" + href)
    page.wait_for_selector("body[data-state='done']", timeout=30_000)
    assert len(grad_texts(page)) == 2 and page.input_value("#wrt") == "X W"
    out = ROOT / "docs" / "serve.png"
    out.parent.mkdir(exist_ok=True)
    page.evaluate("document.getElementById('status').textContent = ''")  # no timing in it
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.screenshot(path=str(out), full_page=True)
    assert out.stat().st_size > 20_000
    assert page.foreign == []
