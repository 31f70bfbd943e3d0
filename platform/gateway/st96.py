"""WIPO ST.96 trademark and patent bibliographic records, read and written.

No official ST.96 XSD ships offline, so instead of schema validation :func:`read_st96`
runs a documented structural check while it reads:

* the root element is in an ST.96 namespace (``…/ST96/Trademark``, ``…/ST96/Patent`` or
  ``…/ST96/Common``);
* each record is a ``tmk:Trademark`` (``tmk:TradeMark`` is accepted too) or a
  ``pat:PatentPublication`` / ``pat:PatentApplication`` / ``pat:BibliographicData``
  element; a document with none is refused;
* required: the office code (``com:RegistrationOfficeCode`` / ``com:IPOfficeCode``, two
  letters) and the application number (``com:ApplicationNumberText`` or
  ``ApplicationNumber``); a patent needs its title (a trademark's mark text is optional:
  figurative marks have none, and such a record can be read but not indexed);
* formats: dates ``YYYY-MM-DD``, Nice classes 1–45, Vienna codes ``CC.DD.SS`` (zero-padded
  and sorted as the engine keeps them).

Children are found by local name under the record (``{*}Name``) so the prefixes a sender
picks, and small differences between ST.96 versions in which namespace an element sits,
do not matter. Every error names the element and its line. :func:`write_st96` writes the
elements the reader reads, so a record survives a round trip field by field.
"""

from __future__ import annotations

from collections.abc import Sequence

from lxml import etree

from ipsim.engine.errors import InvalidInput
from ipsim.platform.gateway.records import (
    GoodsServices,
    PatentRecord,
    Record,
    TrademarkRecord,
    check_date,
    check_nice,
    check_office,
    check_vienna,
)
from ipsim.platform.gateway.xml_safety import local_name, namespace

ST96 = "http://www.wipo.int/standards/XMLSchema/ST96"
COM = f"{ST96}/Common"
TMK = f"{ST96}/Trademark"
PAT = f"{ST96}/Patent"
NAMESPACES = (COM, TMK, PAT)
TRADEMARK_TAGS = ("Trademark", "TradeMark")
PATENT_TAGS = ("PatentPublication", "PatentApplication", "BibliographicData")


def is_st96(root: etree._Element) -> bool:
    return namespace(root) in NAMESPACES


def _where(element: etree._Element, child: str | None = None) -> str:
    name = f"{local_name(element)}/{child}" if child else local_name(element)
    return f"{name} (line {element.sourceline})"


def _all(element: etree._Element, name: str) -> list[etree._Element]:
    return list(element.iterfind(f".//{{*}}{name}"))


def _text(element: etree._Element, *names: str) -> str | None:
    for name in names:
        for found in _all(element, name):
            if found.text and found.text.strip():
                return str(found.text).strip()
    return None


def _texts(element: etree._Element, container: str, name: str) -> tuple[str, ...]:
    return tuple(
        " ".join(found.text.split())
        for box in _all(element, container)
        for found in _all(box, name)
        if found.text and found.text.strip()
    )


def _required(element: etree._Element, what: str, *names: str) -> str:
    value = _text(element, *names)
    if value is None:
        raise InvalidInput(_where(element, names[0]), f"{what} is required")
    return value


def _date(element: etree._Element, name: str) -> str | None:
    found = next(iter(_all(element, name)), None)
    if found is None:
        return None
    return check_date(found.text, _where(found))


def _language(element: etree._Element | None) -> str | None:
    if element is None:
        return None
    for key, value in element.attrib.items():
        if etree.QName(key).localname == "languageCode":
            return str(value)
    return None


def read_st96(root: etree._Element) -> list[Record]:
    """The records of an ST.96 document (parsed by :mod:`.xml_safety`)."""
    if not is_st96(root):
        raise InvalidInput(
            _where(root), f"not an ST.96 document: the root's namespace is {namespace(root)!r}"
        )
    records: list[Record] = []
    for element in root.iter(etree.Element):
        if namespace(element) == TMK and local_name(element) in TRADEMARK_TAGS:
            records.append(_trademark(element))
        elif namespace(element) == PAT and local_name(element) in PATENT_TAGS:
            if any(local_name(up) in PATENT_TAGS for up in element.iterancestors()):
                continue  # BibliographicData inside a PatentPublication: one record
            records.append(_patent(element))
    if not records:
        raise InvalidInput(_where(root), "holds no tmk:Trademark or pat:PatentPublication")
    return records


def _trademark(element: etree._Element) -> TrademarkRecord:
    office_text = _required(element, "the office code", "RegistrationOfficeCode", "IPOfficeCode")
    verbal = next(iter(_all(element, "MarkVerbalElementText")), None)
    mark_text = " ".join((verbal.text or "").split()) if verbal is not None else ""
    goods = []
    for description in _all(element, "ClassDescription"):
        number = next(iter(_all(description, "ClassNumber")), None)
        if number is None:
            raise InvalidInput(_where(description, "ClassNumber"), "is required")
        text = next(iter(_all(description, "GoodsServicesDescriptionText")), None)
        if text is None:
            text = next(iter(_all(description, "GoodsServicesDescription")), None)
        words = " ".join(text.text.split()) if text is not None and text.text else None
        goods.append(
            GoodsServices(
                check_nice(number.text, _where(number)),
                words or None,
                _language(text) if words else None,
            )
        )
    return TrademarkRecord(
        office=check_office(office_text, _where(element, "RegistrationOfficeCode")),
        application_number=_required(
            element, "the application number", "ApplicationNumberText", "ApplicationNumber"
        ),
        application_date=_date(element, "ApplicationDate"),
        registration_number=_text(element, "RegistrationNumber"),
        registration_date=_date(element, "RegistrationDate"),
        expiry_date=_date(element, "ExpiryDate"),
        status=_text(element, "MarkCurrentStatusCode"),
        mark_text=mark_text or None,
        language=_language(verbal) if mark_text else None,
        goods_services=tuple(goods),
        vienna_codes=check_vienna(
            (code.text, _where(code))
            for category in _all(element, "MarkImageCategory")
            for code in _all(category, "CategoryCode")
        ),
        applicants=_texts(element, "Applicant", "EntityName"),
        representatives=_texts(element, "Representative", "EntityName"),
    )


def _patent(element: etree._Element) -> PatentRecord:
    office_text = _required(element, "the office code", "IPOfficeCode", "RegistrationOfficeCode")
    title = next(iter(_all(element, "InventionTitle")), None)
    if title is None or not (title.text or "").strip():
        raise InvalidInput(_where(element, "InventionTitle"), "the title is required")
    abstract = " ".join(" ".join("".join(p.itertext()).split()) for p in _all(element, "Abstract"))
    return PatentRecord(
        office=check_office(office_text, _where(element, "IPOfficeCode")),
        application_number=_required(
            element, "the application number", "ApplicationNumberText", "ApplicationNumber"
        ),
        filing_date=_date(element, "FilingDate"),
        publication_number=_text(element, "PublicationNumber"),
        publication_date=_date(element, "PublicationDate"),
        title=" ".join((title.text or "").split()),
        abstract=abstract,
        language=_language(title),
        ipc=tuple(
            " ".join((code.text or "").split())
            for code in _all(element, "PatentClassificationText")
            if (code.text or "").strip()
        ),
        applicants=_texts(element, "Applicant", "EntityName"),
        inventors=_texts(element, "Inventor", "EntityName"),
    )


# --- writing ---------------------------------------------------------------------------


def _sub(parent: etree._Element, ns: str, name: str, text: str | None = None) -> etree._Element:
    child = etree.SubElement(parent, f"{{{ns}}}{name}")
    if text is not None:
        child.text = text
    return child


def _lang(element: etree._Element, language: str | None) -> None:
    if language:
        element.set(f"{{{COM}}}languageCode", language)


def _contacts(parent: etree._Element, ns: str, bag: str, role: str, names: Sequence[str]) -> None:
    if not names:
        return
    box = _sub(parent, ns, bag)
    for name in names:
        contact = _sub(_sub(box, ns, role), COM, "Contact")
        _sub(_sub(contact, COM, "Name"), COM, "EntityName", name)


def _write_trademark(parent: etree._Element, record: TrademarkRecord) -> None:
    mark = _sub(parent, TMK, "Trademark")
    _sub(mark, COM, "RegistrationOfficeCode", record.office)
    _sub(_sub(mark, COM, "ApplicationNumber"), COM, "ApplicationNumberText",
         record.application_number)  # fmt: skip
    for name, value in (
        ("ApplicationDate", record.application_date),
        ("RegistrationNumber", record.registration_number),
        ("RegistrationDate", record.registration_date),
        ("ExpiryDate", record.expiry_date),
        ("MarkCurrentStatusCode", record.status),
    ):
        if value is not None:
            _sub(mark, COM if name == "RegistrationNumber" else TMK, name, value)
    reproduction = _sub(_sub(mark, TMK, "MarkRepresentation"), TMK, "MarkReproduction")
    if record.mark_text is not None:
        verbal = _sub(_sub(reproduction, TMK, "WordMarkSpecification"), TMK,
                      "MarkVerbalElementText", record.mark_text)  # fmt: skip
        _lang(verbal, record.language)
    if record.vienna_codes:
        category = _sub(_sub(_sub(reproduction, TMK, "MarkImageBag"), TMK, "MarkImage"), TMK,
                        "MarkImageCategory")  # fmt: skip
        codes = _sub(category, COM, "CategoryCodeBag")
        for code in record.vienna_codes:
            _sub(codes, COM, "CategoryCode", code)
    if record.goods_services:
        bag = _sub(_sub(_sub(mark, TMK, "GoodsServicesBag"), TMK, "GoodsServices"), TMK,
                   "ClassDescriptionBag")  # fmt: skip
        for goods in record.goods_services:
            description = _sub(bag, TMK, "ClassDescription")
            _sub(description, TMK, "ClassNumber", str(goods.nice_class))
            if goods.text is not None:
                _lang(_sub(description, TMK, "GoodsServicesDescriptionText", goods.text),
                      goods.language)  # fmt: skip
    _contacts(mark, TMK, "ApplicantBag", "Applicant", record.applicants)
    _contacts(mark, TMK, "RepresentativeBag", "Representative", record.representatives)


def _write_patent(parent: etree._Element, record: PatentRecord) -> None:
    data = _sub(_sub(parent, PAT, "PatentPublication"), PAT, "BibliographicData")
    application = _sub(data, PAT, "ApplicationIdentification")
    _sub(application, COM, "IPOfficeCode", record.office)
    _sub(_sub(application, COM, "ApplicationNumber"), COM, "ApplicationNumberText",
         record.application_number)  # fmt: skip
    if record.filing_date:
        _sub(application, PAT, "FilingDate", record.filing_date)
    if record.publication_number or record.publication_date:
        publication = _sub(data, PAT, "PatentPublicationIdentification")
        if record.publication_number:
            _sub(publication, COM, "PublicationNumber", record.publication_number)
        if record.publication_date:
            _sub(publication, COM, "PublicationDate", record.publication_date)
    _lang(_sub(data, PAT, "InventionTitle", record.title), record.language)
    if record.ipc:
        bag = _sub(_sub(data, PAT, "PatentClassificationBag"), PAT, "IPCRClassificationBag")
        for code in record.ipc:
            _sub(_sub(bag, PAT, "IPCRClassification"), PAT, "PatentClassificationText", code)
    if record.applicants or record.inventors:
        parties = _sub(data, PAT, "PartyBag")
        _contacts(parties, PAT, "ApplicantBag", "Applicant", record.applicants)
        _contacts(parties, PAT, "InventorBag", "Inventor", record.inventors)
    if record.abstract:
        _sub(_sub(data, PAT, "Abstract"), COM, "P", record.abstract)


def write_st96(records: Sequence[Record]) -> bytes:
    """An ST.96 document (UTF-8) holding ``records``: a ``tmk:TrademarkBag`` when they are
    all trademarks, a ``pat:PatentBag`` when all patents, else a ``com:`` wrapper."""
    kinds = {type(record) for record in records}
    nsmap = {"com": COM, "tmk": TMK, "pat": PAT}
    if kinds == {TrademarkRecord}:
        root = etree.Element(f"{{{TMK}}}TrademarkBag", nsmap=nsmap)
    elif kinds == {PatentRecord}:
        root = etree.Element(f"{{{PAT}}}PatentBag", nsmap=nsmap)
    else:
        root = etree.Element(f"{{{COM}}}RecordBag", nsmap=nsmap)
    for record in records:
        if isinstance(record, TrademarkRecord):
            _write_trademark(root, record)
        else:
            _write_patent(root, record)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


__all__ = ["COM", "NAMESPACES", "PAT", "TMK", "is_st96", "read_st96", "write_st96"]
