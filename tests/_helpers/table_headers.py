"""The headers a reader sees in a notebook's displayed tables, read from their HTML."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from typing import Any

_HEAD = re.compile(r"<thead>(.*?)</thead>", re.S)
_TH = re.compile(r"<th\b[^>]*>(.*?)</th>", re.S)


def raw_headers(outputs: Iterable[Mapping[str, Any]]) -> list[str]:
    """The column headers and level names (a table's ``<thead>``; row labels are data) of the
    HTML ``outputs`` of a notebook's cells that still read as code names: with an underscore."""
    found = []
    for output in outputs:
        page = output.get("data", {}).get("text/html", "")
        for head in _HEAD.findall("".join(page) if isinstance(page, list) else page):
            found += [text for text in (html.unescape(re.sub(r"<[^>]+>", "", th)).strip() for th in _TH.findall(head))
                      if "_" in text]
    return found
