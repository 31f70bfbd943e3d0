"""The fee calculator and the attorney search in a real browser: the fee table holds the API's
lines and total for the same parameters, the attorney list is the API's page (and the next
one), bad values are shown at their field, and the pages speak Russian."""

from __future__ import annotations

from typing import Any

import httpx
from support.browser import screenshot

from .conftest import PortalPage


def _fees(url: str, **params: Any) -> dict[str, Any]:
    answer = httpx.get(f"{url}/v1/fees", params=params, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def _attorneys(url: str, **params: Any) -> dict[str, Any]:
    answer = httpx.get(f"{url}/v1/attorneys", params=params, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def _fee_rows(page: Any) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = page.locator("#fees-table tbody tr").evaluate_all(
        """(rows) => rows.map((r) => ({
            code: r.dataset.code,
            quantity: r.querySelector('[data-quantity]').dataset.quantity,
            unit: r.querySelector('[data-unit]').dataset.unit,
            amount: r.querySelector('[data-amount]').dataset.amount,
        }))"""
    )
    return rows


def _compute(page: Any) -> None:
    with page.expect_response(lambda r: "/v1/fees?" in r.url) as answer:
        page.click("#fees-form button[type=submit]")
    page.wait_for_function("() => document.getElementById('fees-results').ariaBusy === 'false'")
    assert answer.value is not None


def test_fee_table_equals_the_apis_quote(portal: PortalPage) -> None:
    page = portal.open("fees")
    page.wait_for_selector("#fees-table")
    # the first quote, with the defaults: filing of an invention, 10 claims, a legal entity
    default = _fees(portal.url, kind="invention", events="filing", claims=10)
    assert _fee_rows(page) == [
        {k: str(line[k]) for k in ("code", "quantity", "unit", "amount")}
        for line in default["lines"]
    ]

    page.check("#fees-event-search")
    page.check("#fees-event-examination")
    page.check("#fees-event-annuity")
    page.fill("#fees-claims", "15")
    page.fill("#fees-year", "7")
    page.select_option("#fees-applicant", "sme")
    page.fill("#fees-on", "2026-08-01")
    _compute(page)
    expected = _fees(
        portal.url,
        kind="invention",
        events="filing,search,examination,annuity",
        claims=15,
        year=7,
        applicant_type="sme",
        on="2026-08-01",
    )
    rows = _fee_rows(page)
    assert rows == [
        {k: str(line[k]) for k in ("code", "quantity", "unit", "amount")}
        for line in expected["lines"]
    ]
    assert [r["code"] for r in rows] == [
        "filing",
        "filing.extra_claims",
        "search",
        "examination",
        "examination.extra_claims",
        "annuity.year_7",
        "reduction.sme",
    ]
    assert rows[1]["quantity"] == "5" and rows[-1]["amount"].startswith("-")
    total = page.locator("#fees-total")
    assert total.get_attribute("data-amount") == expected["total"]
    assert total.get_attribute("data-currency") == expected["currency"] == "RUB"
    shown_total = total.inner_text().replace("\xa0", " ")
    assert f"{float(expected['total']):,.2f}" in shown_total
    assert expected["schedule_version"] in page.inner_text("#fees-results")

    # a trademark counts Nice classes and is renewed, not maintained by annuities
    page.select_option("#fees-kind", "trademark")
    assert page.locator("#fees-classes").is_visible()
    assert not page.locator("#fees-claims").is_visible()
    assert page.locator("#fees-event-renewal").is_visible()
    assert not page.locator("#fees-event-search").is_visible()
    assert not page.locator("#fees-event-annuity").is_visible()
    page.fill("#fees-classes", "4")
    page.check("#fees-event-renewal")
    page.select_option("#fees-applicant", "legal_entity")
    page.fill("#fees-on", "")
    _compute(page)
    trademark = _fees(portal.url, kind="trademark", events="filing,examination,renewal", classes=4)
    assert [(r["code"], r["amount"]) for r in _fee_rows(page)] == [
        (line["code"], line["amount"]) for line in trademark["lines"]
    ]
    assert page.get_attribute("#fees-total", "data-amount") == trademark["total"]
    assert "null" not in page.inner_text("#fees-results")
    screenshot(page, "portal/fees")
    portal.assert_clean()


def test_bad_fee_values_show_at_their_field(portal: PortalPage) -> None:
    page = portal.open("fees")
    page.wait_for_selector("#fees-table")
    page.fill("#fees-claims", "-1")
    _compute(page)
    error = page.locator("#fees-claims-error")
    error.wait_for()
    assert error.inner_text() == "must be a whole number from 0 to 10000"
    assert page.get_attribute("#fees-claims", "aria-invalid") == "true"
    assert page.locator("#fees-table").count() == 0

    page.fill("#fees-claims", "3")
    page.check("#fees-event-annuity")
    page.fill("#fees-year", "99")
    _compute(page)
    page.locator("#fees-year-error").wait_for()
    assert "from 3 to 25" in page.inner_text("#fees-year-error")
    assert page.locator("#fees-claims-error").count() == 0

    page.fill("#fees-year", "3")
    page.fill("#fees-on", "2020-01-01")
    _compute(page)
    page.locator("#fees-on-error").wait_for()
    assert "before the first fee schedule" in page.inner_text("#fees-on-error")
    portal.watch.clear()

    page.fill("#fees-on", "")
    _compute(page)
    page.wait_for_selector("#fees-table")
    assert page.locator(".field-error").count() == 0
    portal.assert_clean()


def test_fees_in_russian(portal: PortalPage) -> None:
    page = portal.open("fees")
    page.click("button[data-lang=ru]")
    page.wait_for_function("() => document.documentElement.lang === 'ru'")
    page.wait_for_selector("#fees-table")
    text = page.inner_text("#view")
    assert "Калькулятор пошлин" in text
    assert "Количество пунктов формулы" in text
    assert "Регистрация заявки и формальная экспертиза" in text
    assert "Итого" in page.inner_text("#fees-table tfoot")
    assert "не официальные размеры пошлин" in page.inner_text("#fees-notice")
    assert page.inner_text("#fees-form button[type=submit]") == "Рассчитать"
    portal.assert_clean()


def _shown_attorneys(page: Any) -> list[str]:
    ids: list[str] = page.locator("#att-results li.hit").evaluate_all(
        "(nodes) => nodes.map((n) => n.dataset.id)"
    )
    return ids


def _att_search(page: Any) -> None:
    with page.expect_response(lambda r: "/v1/attorneys" in r.url) as answer:
        page.click("#att-form button[type=submit]")
    assert answer.value.status == 200
    page.wait_for_function("() => document.getElementById('att-results').ariaBusy === 'false'")


def test_attorney_search_equals_the_api(portal: PortalPage) -> None:
    everyone = _attorneys(portal.url)
    assert everyone["total"] > 20  # the demo server seeds its generated register
    page = portal.open("attorneys")
    page.wait_for_selector("#att-results li.hit")
    assert _shown_attorneys(page) == [a["registration_number"] for a in everyone["attorneys"]]
    assert page.get_attribute("#att-results .pager .total", "data-total") == str(everyone["total"])
    assert page.locator("#att-demo").is_visible()

    # the next page is the API's offset=20
    page.locator("#att-results .pager").first.get_by_role(
        "button", name="Page 2", exact=True
    ).click()
    page.wait_for_selector("#att-results .pager button[data-page='2'][aria-current=page]")
    second = _attorneys(portal.url, offset=20)
    assert _shown_attorneys(page) == [a["registration_number"] for a in second["attorneys"]]
    assert page.get_attribute("#att-results ol.hits", "start") == "21"

    # by region (its Russian name) and specialization
    page.fill("#att-region", "Москва")
    page.select_option("#att-specialization", "trademarks")
    _att_search(page)
    expected = _attorneys(portal.url, region="RU-MOW", specialization="trademarks")
    assert expected["total"] > 0
    assert _shown_attorneys(page) == [a["registration_number"] for a in expected["attorneys"]]
    regions = page.locator("#att-results [data-region]").all_inner_texts()
    assert regions and all(r == "Москва (RU-MOW)" for r in regions)
    specs = page.locator("#att-results li.hit").evaluate_all(
        "(nodes) => nodes.map((n) => [...n.querySelectorAll('[data-specialization]')]"
        ".map((s) => s.dataset.specialization))"
    )
    assert all("trademarks" in s for s in specs)

    # by name words and language
    first = everyone["attorneys"][0]
    surname = first["name"].split()[-1]
    page.fill("#att-region", "")
    page.select_option("#att-specialization", "")
    page.fill("#att-q", surname.lower())
    page.select_option("#att-language", "en")
    _att_search(page)
    by_name = _attorneys(portal.url, q=surname.lower(), language="en")
    assert by_name["total"] >= 1
    assert _shown_attorneys(page) == [a["registration_number"] for a in by_name["attorneys"]]
    names = page.locator("#att-results .hit-id").all_inner_texts()
    assert names and all(surname.lower() in n.lower() for n in names)
    assert "null" not in page.inner_text("#att-results")
    screenshot(page, "portal/attorneys")
    portal.assert_clean()


def test_bad_region_shows_at_the_region_field(portal: PortalPage) -> None:
    page = portal.open("attorneys")
    page.wait_for_selector("#att-results li.hit")
    page.fill("#att-region", "Atlantis")
    with page.expect_response(lambda r: "/v1/attorneys" in r.url) as answer:
        page.click("#att-form button[type=submit]")
    assert answer.value.status == 400
    error = page.locator("#att-region-error")
    error.wait_for()
    assert "ISO 3166-2:RU code" in error.inner_text()
    assert page.get_attribute("#att-region", "aria-invalid") == "true"
    assert page.locator("#att-results li.hit").count() == 0
    portal.watch.clear()
    portal.assert_clean()


def test_attorneys_in_russian(portal: PortalPage) -> None:
    page = portal.open("attorneys")
    page.click("button[data-lang=ru]")
    page.wait_for_function("() => document.documentElement.lang === 'ru'")
    page.wait_for_selector("#att-results li.hit")
    text = page.inner_text("#view")
    assert "Патентные поверенные" in text
    assert "Специализация" in text
    assert "Всего записей:" in text
    assert "Демонстрационные данные" in page.inner_text("#att-demo")
    assert "действует" in page.inner_text("#att-results li.hit >> nth=0")
    portal.assert_clean()
