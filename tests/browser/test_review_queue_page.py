"""The review-queue page as a reviewer sees it: opened by headless Chromium from the file Vigil
wrote, with no network, on a laptop-sized screen."""

import pytest
from PIL import Image

from ml.monitor.queue import read_queue
from ml.monitor.report_html import anchor, write_report
from tests.browser.chromium import LAPTOP, dump_dom, parse, screenshot
from tests.ml.test_monitor_report import DAY, HOSTILE, HOSTILE_REASON, warehouse  # noqa: F401 (fixture)


@pytest.fixture
def page(warehouse, tmp_path):  # noqa: F811
    return write_report(read_queue(warehouse, DAY), tmp_path / "reports")


def _items(document):
    return list(document.iter("li", class_="item"))


def test_the_reviewer_sees_the_items_highest_score_first_with_their_reasons(chromium, page):
    document = parse(dump_dom(chromium, page.as_uri()))

    items = _items(document)
    # acct_a and acct_b are one linked group: one work item, at acct_a's place.
    assert [i.attrs["data-account"] for i in items] == ["acct_a", "acct_b", HOSTILE]
    assert [i.first(class_="account").text() for i in items] == ["acct_a", "acct_b", HOSTILE]
    assert [float(i.attrs["data-score"]) for i in items] == [0.91, 0.31, 0.52]
    assert [i.attrs["data-band"] for i in items] == ["block", "review", "review"]
    [group] = list(document.iter("li", class_="group"))
    assert [i.attrs["data-account"] for i in group.iter("li", class_="item")] == ["acct_a", "acct_b"]
    assert items[0].first("ol", class_="reasons").text() == "5 cards CARDS_ADDED"
    # Hostile data is shown as text, never run or loaded: no script or image element exists.
    assert items[2].first("ol", class_="reasons").text() == f"{HOSTILE_REASON} CARDS_ADDED"
    assert not list(document.iter("script")) and not list(document.iter("img"))
    assert "Review queue" in document.first("h1").text() and str(DAY) in document.first("h1").text()


def test_linked_accounts_link_to_their_item_when_queued_and_show_their_own_status(chromium, page):
    document = parse(dump_dom(chromium, page.as_uri()))
    top = _items(document)[0]

    linked = {li.attrs["data-linked"]: li for li in top.first("ul", class_="linked").iter("li")}
    assert set(linked) == {"acct_b", "acct_c"}
    link = linked["acct_b"].first("a")
    assert link.attrs["href"] == f"#{anchor('acct_b')}"
    assert document.first("li", id=anchor("acct_b")).attrs["data-account"] == "acct_b"  # the link lands
    assert not list(linked["acct_c"].iter("a"))  # not in the day's queue: nothing to jump to
    assert "decision block" in linked["acct_c"].text()
    assert [row.text() for row in top.first(class_="decisions").iter("tr")][1:] == [
        "2026-09-25 review - model",
        "2026-09-30 block review model",
    ]


def test_the_summary_shows_publication_band_rates_and_drift(chromium, page):
    document = parse(dump_dom(chromium, page.as_uri()))

    assert document.first(id="publication").first(class_="status").text() == "published"
    bands = [row.text() for row in document.first(id="bands").iter("tr")][1:]
    assert bands[0].startswith("block 1 25.00%") and bands[1].startswith("review 2 50.00%")
    drift = {row.first("td").text(): row.text() for row in document.first(id="drift").iter("tr")}
    assert "warning" in drift["drift.features"] and "spend_usd_7d 0.310" in drift["drift.features"]
    assert "ok" in drift["features_arriving"]


def test_the_page_renders_on_a_laptop_screen_without_the_network(chromium, page, artifacts):
    offline = ["--host-resolver-rules=MAP * ~NOTFOUND"]  # any host name fails to resolve
    shot = screenshot(chromium, page.as_uri(), artifacts / "review_queue_synthetic.png", extra=offline)

    with Image.open(shot) as image:
        assert image.size == LAPTOP
        colors = image.convert("RGB").getcolors(maxcolors=1 << 16)
    assert colors is None or len(colors) > 50  # text, badges and a sparkline, not a blank page


def test_the_pipelines_page_of_its_last_scored_day_opens_with_its_items_in_order(chromium, pipeline_run, artifacts):
    assert pipeline_run.completed.returncode == 0, pipeline_run.completed.stderr[-3000:]
    page = sorted((pipeline_run.data / "reports").glob("review_queue_*.html"))[-1]
    document = parse(dump_dom(chromium, page.as_uri()))
    screenshot(chromium, page.as_uri(), artifacts / "review_queue_pipeline.png")

    items = _items(document)
    assert items, "the last scored day has review or block items"
    # Work items in the queue's order: a rule's reviews first, then highest score first; an
    # account alone, or a linked group (its members in that order) at its first member's place.
    work = [
        li for li in document.first("ol", class_="queue").children if isinstance(li, type(document)) and li.tag == "li"
    ]
    members = [
        [(i.attrs["data-rule"] != "true", -float(i.attrs["data-score"])) for i in w.iter("li", class_="item")]
        or [(w.attrs["data-rule"] != "true", -float(w.attrs["data-score"]))]
        for w in work
    ]
    assert [m[0] for m in members] == sorted(m[0] for m in members)
    assert all(m == sorted(m) for m in members)
    assert sum(len(m) for m in members) == len(items)
    assert {i.attrs["data-band"] for i in items} <= {"review", "block"}
    assert all(i.first("ol", class_="reasons").text() for i in items)  # reasons on every flagged row
    assert all(i.first("svg") for i in items)  # the score's recent history
