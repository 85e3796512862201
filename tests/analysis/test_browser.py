"""The HTML report opens in headless Chromium with every image loaded and no errors.

Needs Debian's ``chromium``. Without it the test is skipped, except in CI (the
environment variable CI is set), where a missing browser is a failure: the check
must not silently disappear from the pipeline.
"""

import pathlib

import pytest

import chromium_cdp as cdp
from privilege import skip_or_fail


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    binary = cdp.find_chromium()
    if binary is None:
        message = "chromium not found (apt-get install chromium)"
        skip_or_fail(message)
    with cdp.Chromium(binary, str(tmp_path_factory.mktemp("chromium-profile"))) as chromium:
        yield chromium


def test_report_loads_every_image_without_errors(browser, request):
    # Requested only now: pytest would build session fixtures first, even for a skip.
    full_report = request.getfixturevalue("full_report")
    page = browser.load(pathlib.Path(full_report.html_path).as_uri())
    assert page.title.startswith("zcbench report")
    assert len(page.images) == len(full_report.pngs) > 0
    broken = [i for i in page.images if not (i["complete"] and i["width"] > 0 and i["height"] > 0)]
    assert not broken, broken
    assert all(i["alt"] for i in page.images)
    assert not page.console_errors and not page.exceptions and not page.log_errors, \
        (page.console_errors, page.exceptions, page.log_errors)
    assert not page.failed_requests, page.failed_requests
    # Self-contained: the page itself and data: URIs, nothing else is requested.
    others = [u for u in page.requests if not u.startswith("data:")]
    assert others == [pathlib.Path(full_report.html_path).as_uri()], others


def test_checker_sees_broken_images_and_errors(browser, tmp_path):
    """The browser check itself must be able to fail."""
    page_path = tmp_path / "broken.html"
    page_path.write_text('<!DOCTYPE html><html><head><title>t</title></head><body>'
                         '<img src="data:image/png;base64,AAAA" alt="x">'
                         '<img src="missing.png" alt="y">'
                         '<script>console.error("boom")</script></body></html>')
    page = browser.load(page_path.as_uri())
    assert len(page.images) == 2
    assert all(i["width"] == 0 for i in page.images)
    assert any("boom" in e for e in page.console_errors)
    assert page.failed_requests or page.log_errors
