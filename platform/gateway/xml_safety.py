"""Parsing XML that arrives from outside the office: no DTDs, no entities, no network.

Every document a foreign office sends goes through :func:`parse_untrusted`. lxml (libxml2)
is used rather than the standard library's expat because its elements carry their source
line, so an error can name the element *and* the line. It is hardened on three levels:

* bytes first: a size limit before anything is parsed, and strict UTF-8 decoding (the
  gateway only exchanges UTF-8, as ST.96 prescribes) so an invalid byte is reported with
  its line instead of being replaced silently;
* the parser: ``resolve_entities=False``, ``load_dtd=False``, ``no_network=True``,
  ``huge_tree=False`` — nothing is expanded, loaded or fetched, whatever the document says;
* the result: any ``<!DOCTYPE`` (internal subset or not) is refused outright, which covers
  billion laughs, quadratic blowup and external entities (file or network) with one rule,
  and the element depth is bounded.

Errors are :class:`XmlRejected`, an :class:`~ipsim.engine.errors.InvalidInput` whose field
is ``xml`` and whose message names the problem, the element and the line.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from ipsim.engine.errors import InvalidInput

MAX_BYTES = 16 * 1024 * 1024
MAX_DEPTH = 64


@dataclass(frozen=True)
class XmlLimits:
    """How large and how deep an accepted document may be."""

    max_bytes: int = MAX_BYTES
    max_depth: int = MAX_DEPTH


class XmlRejected(InvalidInput):
    """An XML document refused before or while parsing (a 400 naming the problem)."""

    def __init__(self, detail: str, field: str = "xml") -> None:
        super().__init__(field, detail)


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        load_dtd=False,
        dtd_validation=False,
        no_network=True,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def _check_utf8(data: bytes) -> None:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise XmlRejected(f"invalid UTF-8 at byte {exc.start} (line {line})") from None
    if b"\x00" in data:
        # NUL is valid UTF-8 but never XML: it means UTF-16/32, which would hide a
        # ``<!DOCTYPE`` from the byte check below.
        raise XmlRejected("the document must be UTF-8 (it holds NUL bytes: UTF-16?)")


def parse_untrusted(data: bytes, limits: XmlLimits = XmlLimits()) -> etree._Element:
    """The root element of ``data``, or :class:`XmlRejected` saying why not."""
    if not data.strip():
        raise XmlRejected("the document is empty")
    if len(data) > limits.max_bytes:
        raise XmlRejected(f"the document is {len(data)} bytes, more than {limits.max_bytes}")
    _check_utf8(data)
    # Cheap early refusal: the parser would not expand anything, but there is no reason to
    # let it read an internal subset at all.
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        line = data.count(b"\n", 0, max(data.find(b"<!DOCTYPE"), data.find(b"<!ENTITY"))) + 1
        raise XmlRejected(f"DTDs and entity declarations are not allowed (line {line})")
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        message = str(exc.msg or exc)
        if "depth" in message.lower():
            raise XmlRejected(f"elements nest too deeply: {message}") from None
        raise XmlRejected(f"not well-formed XML at line {exc.lineno}: {message}") from None
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise XmlRejected("DTDs are not allowed (line 1)")
    _check_tree(root, limits)
    return root


def _check_tree(root: etree._Element, limits: XmlLimits) -> None:
    stack: list[tuple[etree._Element, int]] = [(root, 1)]
    while stack:
        element, depth = stack.pop()
        if depth > limits.max_depth:
            raise XmlRejected(
                f"element <{local_name(element)}> at line {element.sourceline} is nested"
                f" {depth} deep, more than {limits.max_depth}"
            )
        for child in element:
            if isinstance(child, etree._Entity):
                raise XmlRejected(f"entity reference {child.text} at line {child.sourceline}")
            if isinstance(child.tag, str):
                stack.append((child, depth + 1))


def local_name(element: etree._Element) -> str:
    """The element's tag without its namespace."""
    return str(etree.QName(element).localname)


def namespace(element: etree._Element) -> str | None:
    """The element's namespace URI (``None`` when it has none)."""
    found = etree.QName(element).namespace
    return None if found is None else str(found)


__all__ = ["MAX_BYTES", "MAX_DEPTH", "XmlLimits", "XmlRejected", "local_name", "namespace"]
__all__ += ["parse_untrusted"]
