"""One element of a report as the reader sees it: a small tree built from expat's events.

Names are kept as written and nothing is resolved against namespaces: tags are compared by their
local name (``j:failure`` and a ``<failure>`` under ``xmlns="urn:x"`` are both a failure), so a
prefix or a default namespace declared anywhere (a suite, a wrapper element, the testcase, its
failure) can neither hide a failure nor make a report unreadable. An element written back into the
place it came from means what it meant before to every namespace-aware reader.

Everything here is iterative (building, copying, text, writing): a testcase may nest thousands
of elements deep, deeper than Python's recursion limit.
"""

from __future__ import annotations

import gc
import re
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional, Tuple, Union
from xml.parsers import expat

# Nodes that are not elements, kept so that a rewritten testcase loses nothing: their "tag" is
# no XML name, their text is what they hold.
COMMENT = "!--"
PI = "?"
_NOT_ELEMENTS = (COMMENT, PI)
# What must be a reference to survive a reading: markup characters, and in attribute values the
# whitespace a reader would normalise to spaces; a lone CR anywhere (readers turn it into LF).
_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"}
_TEXT_SPECIAL = re.compile("[&<>\r]")
_ATTR_SPECIAL = re.compile('[&<>"\n\r\t]')


def _escaped(match: "re.Match[str]") -> str:
    return _ESCAPES[match.group()]


def _text(value: str) -> str:
    return _TEXT_SPECIAL.sub(_escaped, value)


def quoted_attr(value: str) -> str:
    """An attribute value, quoted and escaped: how every attribute we write is written."""
    return '"' + _ATTR_SPECIAL.sub(_escaped, value) + '"'


def _attributes(attrib: Dict[str, str]) -> str:
    if _ATTR_SPECIAL.search("".join(attrib.values())) is None:  # most: nothing to escape, one search for all
        return "".join([f' {key}="{value}"' for key, value in attrib.items()])
    return "".join([f" {key}={quoted_attr(value)}" for key, value in attrib.items()])


def local_name(tag: str) -> str:
    """``j:failure`` -> ``failure``: how every tag is compared."""
    return tag[tag.index(":") + 1 :] if ":" in tag else tag


class Element:
    __slots__ = ("tag", "attrib", "children", "text", "tail")

    def __init__(self, tag: str, attrib: Optional[Dict[str, str]] = None, text: str = "") -> None:
        self.tag = tag  # as written, prefix included
        self.attrib: Dict[str, str] = dict(attrib or {})  # in document order
        self.children: List[Element] = []
        self.text = text  # before the first child
        self.tail = ""  # after this element's end, inside its parent

    @property
    def local(self) -> str:
        return local_name(self.tag)

    def __iter__(self) -> Iterator["Element"]:
        return (child for child in self.children if child.tag not in _NOT_ELEMENTS)

    def get(self, key: str, default: str = "") -> str:
        return self.attrib.get(key, default)

    # find and findall loop over the children themselves: through __iter__'s generator they
    # took a fifth of the time of reading 20,000 failures.
    def find(self, local: str) -> Optional["Element"]:
        for child in self.children:
            if child.tag not in _NOT_ELEMENTS and local_name(child.tag) == local:
                return child
        return None

    def findall(self, *locals_: str) -> List["Element"]:
        return [child for child in self.children if child.tag not in _NOT_ELEMENTS and local_name(child.tag) in locals_]

    def findtext(self, local: str) -> str:
        child = self.find(local)
        return child.alltext() if child is not None else ""

    def alltext(self) -> str:
        """All character data inside, in document order (comments left out)."""
        parts: List[str] = []
        stack: List[Tuple[Element, bool]] = [(self, False)]
        while stack:
            node, closing = stack.pop()
            if closing:
                parts.append(node.tail)
                continue
            if node.tag in _NOT_ELEMENTS:
                parts.append(node.tail)
                continue
            parts.append(node.text)
            if node is not self:
                stack.append((node, True))
            stack.extend((child, False) for child in reversed(node.children))
        return "".join(parts)

    def add(self, tag: str, text: str = "", **attrs: str) -> "Element":
        child = Element(tag, attrs, text)
        self.children.append(child)
        return child

    def copy(self) -> "Element":
        """A deep copy (the tail left behind)."""
        top = Element(self.tag, self.attrib, self.text)
        stack = [(self, top)]
        while stack:
            source, target = stack.pop()
            for child in source.children:
                twin = Element(child.tag, child.attrib, child.text)
                twin.tail = child.tail
                target.children.append(twin)
                stack.append((child, twin))
        return top

    def to_xml(self) -> str:
        """The element as XML text; the tail is not part of it."""
        if not self.children and not self.text:  # most testcases: one self-closing tag
            return f"<{self.tag}{_attributes(self.attrib)}/>"
        out: List[str] = []
        stack: List[Union[Element, str]] = [self]  # elements to write, or text ready to go out
        while stack:
            node = stack.pop()
            if isinstance(node, str):
                out.append(node)
            elif node.tag == COMMENT:
                out.append(f"<!--{node.text}-->")
            elif node.tag == PI:
                out.append(f"<?{node.text}?>")
            else:
                attrs = _attributes(node.attrib)
                if not node.children and not node.text:
                    out.append(f"<{node.tag}{attrs}/>")
                    continue
                out.append(f"<{node.tag}{attrs}>{_text(node.text)}")
                stack.append(f"</{node.tag}>")
                for child in reversed(node.children):
                    stack.append(_text(child.tail))
                    stack.append(child)
        return "".join(out)


class TreeBuilder:
    """expat handlers that build Elements; ``top`` holds what was built at the outermost level."""

    def __init__(self) -> None:
        self.top: List[Element] = []
        self.open: List[Element] = []

    def attach(self, parser: "expat.XMLParserType") -> None:
        parser.buffer_text = True
        parser.StartElementHandler = self.start
        parser.EndElementHandler = self.end
        parser.CharacterDataHandler = self.data
        parser.CommentHandler = self.comment
        parser.ProcessingInstructionHandler = self.instruction

    def start(self, tag: str, attrs: Dict[str, str]) -> None:
        element = Element(tag, attrs)
        (self.open[-1].children if self.open else self.top).append(element)
        self.open.append(element)

    def end(self, tag: str) -> None:
        self.open.pop()

    def data(self, text: str) -> None:
        if not self.open:
            return  # whitespace between elements at the outermost level
        parent = self.open[-1]
        if parent.children:
            parent.children[-1].tail += text
        else:
            parent.text += text

    def comment(self, text: str) -> None:
        if self.open:
            self.open[-1].children.append(Element(COMMENT, text=text))

    def instruction(self, target: str, data: str) -> None:
        if self.open:
            self.open[-1].children.append(Element(PI, text=f"{target} {data}" if data else target))


@contextmanager
def long_lived() -> Iterator[None]:
    """Builds objects that live as long as the command: cyclic garbage collection is paused while
    they are built, and they are then moved out of its sight (``gc.freeze``). They hold no
    reference cycles, so the collector's passes over hundreds of thousands of them free nothing:
    they took a quarter of the time of merging shards that repeat every test."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


def parse_childless(text: str) -> List[Element]:
    """The elements inside the one element of ``text``, each without children or text (start
    tags written self-closing, as the reader confirms repeats): no tree to build, so only a start
    handler, which halved the time of parsing them."""
    found: List[Element] = []

    def start(tag: str, attrs: Dict[str, str]) -> None:
        element = Element(tag)
        element.attrib = attrs  # made by expat for this element alone: no copy (a third of its memory)
        found.append(element)

    parser = expat.ParserCreate()
    parser.StartElementHandler = start
    parser.Parse(text, True)
    return found[1:]


def parse_element(text: Union[str, bytes], encoding: str = "utf-8") -> Element:
    """One element cut out of its document: text, or bytes in ``encoding``. Its bytes were read
    by the scan, so a failure here means the file changed since. UTF-8 bytes go to expat as they
    are (decoding them first, as other encodings are, costs a decode and expat's encode back)."""
    if isinstance(text, bytes) and encoding != "utf-8":
        text = text.decode(encoding)
    builder = TreeBuilder()
    parser = expat.ParserCreate()
    builder.attach(parser)
    parser.Parse(text, True)
    return builder.top[0]
