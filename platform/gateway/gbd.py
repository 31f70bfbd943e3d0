"""National trademark records as offices send them to WIPO's Global Brand Database.

Two shapes occur in the real sample (``data/ip/gbd_trademark_records``):

* WIPO ST.66-style ``Transaction`` documents (namespace
  ``http://www.wipo.int/standards/XMLSchema/trademarks``, a few elements in the
  ``wo-trademarks`` one): ``TradeMark`` elements whose children carry the same local names
  as ST.96 (``ApplicationNumber``, ``ApplicationDate``, ``ClassNumber``,
  ``MarkVerbalElementText``, ``CategoryCode``…), so they are read by the ST.96 trademark
  reader; only the applicant/representative names differ (``FreeFormatNameLine``);
* Israel's ``TMBRAND`` export (no namespace, upper-case names, dates ``YYYYMMDD``,
  parallel Hebrew/English texts): the English text is taken where both exist.

Both become :class:`~ipsim.platform.gateway.records.TrademarkRecord` and so can be indexed
and re-exported as ST.96 like any other record.
"""

from __future__ import annotations

from dataclasses import replace

from lxml import etree

from ipsim.engine.errors import InvalidInput
from ipsim.platform.gateway import st96
from ipsim.platform.gateway.records import (
    GoodsServices,
    Record,
    TrademarkRecord,
    check_date,
    check_nice,
    check_vienna,
)
from ipsim.platform.gateway.xml_safety import local_name, namespace

ST66 = "http://www.wipo.int/standards/XMLSchema/trademarks"
ISRAEL_OFFICE = "IL"


def is_gbd(root: etree._Element) -> bool:
    return (namespace(root) == ST66 and local_name(root) == "Transaction") or (
        namespace(root) is None and local_name(root) == "TMBRAND"
    )


def read_gbd(root: etree._Element) -> list[Record]:
    """The trademark records of a GBD national document."""
    if local_name(root) == "TMBRAND":
        return [_tmbrand(root)]
    if not is_gbd(root):
        raise InvalidInput(f"{local_name(root)} (line {root.sourceline})", "not a GBD document")
    records: list[Record] = []
    for mark in root.iterfind(".//{*}TradeMark"):
        record = st96._trademark(mark)
        records.append(
            replace(
                record,
                applicants=_names(mark, "Applicant") or record.applicants,
                representatives=_names(mark, "Representative") or record.representatives,
            )
        )
    if not records:
        raise InvalidInput(f"Transaction (line {root.sourceline})", "holds no TradeMark")
    return records


def _names(mark: etree._Element, role: str) -> tuple[str, ...]:
    return tuple(
        " ".join(line.text.split())
        for party in mark.iterfind(f".//{{*}}{role}")
        for line in party.iterfind(".//{*}FreeFormatNameLine")
        if line.text and line.text.strip()
    )


def _english(element: etree._Element | None, name: str) -> tuple[str | None, str | None]:
    """The text of ``name`` children, English first, with its language."""
    if element is None:
        return None, None
    found = [(c.get("lang"), " ".join(c.text.split())) for c in element.iterfind(name) if c.text]
    found = [(lang, text) for lang, text in found if text]
    found.sort(key=lambda item: item[0] != "en")
    return (found[0][1], found[0][0]) if found else (None, None)


def _tmbrand(root: etree._Element) -> TrademarkRecord:
    details = root.find("DETAILS")
    if details is None:
        raise InvalidInput(f"TMBRAND/DETAILS (line {root.sourceline})", "is required")
    number = (details.findtext("OFFICENUMBER") or "").strip()
    if not number:
        raise InvalidInput(f"DETAILS/OFFICENUMBER (line {details.sourceline})", "is required")
    word, language = _english(details.find("BRAND"), "NAME")
    goods = []
    for nice in root.iterfind("NICEGROUP/NICECLASS"):
        text, lang = _english(nice, "LIST")
        goods.append(GoodsServices(check_nice(nice.findtext("TYPE"), "NICECLASS/TYPE"), text, lang))

    def names(path: str) -> tuple[str, ...]:
        return tuple(
            name
            for party in root.iterfind(path)
            if (name := _english(party.find("NAMES"), "NAME")[0])
        )

    def when(name: str) -> str | None:
        return check_date(details.findtext(name), f"DETAILS/{name}")

    return TrademarkRecord(
        office=ISRAEL_OFFICE,
        application_number=number,
        application_date=when("FILINGDATE"),
        registration_date=when("REGISTRATIONDATE"),
        expiry_date=when("EXPIRATIONDATE"),
        status=(details.findtext("STATUS") or "").strip() or None,
        mark_text=word,
        language=language,
        goods_services=tuple(goods),
        vienna_codes=check_vienna(
            (code.text, f"VIENNAGROUP/{code.tag} (line {code.sourceline})")
            for code in root.iterfind("VIENNAGROUP//*")
            if code.text and code.text.strip() and "." in code.text
        ),
        applicants=names("APPLICANTS/APPLICANT"),
        representatives=names("REPRESENTATIVES/REPRESENTATIVE"),
    )


__all__ = ["ST66", "is_gbd", "read_gbd"]
