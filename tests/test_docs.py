"""Every relative link in the README and docs/ reaches a file and, for a #anchor, a heading of it (as GitHub names
headings). Markdown is parsed with mistune, so links inside code are not links. `make lint` runs this file."""

import re
from urllib.parse import unquote, urlsplit

import mistune
import pytest

from digitlib.constants import ROOT

DOCS = [
    ROOT / "README.md",
    *sorted((ROOT / "docs").glob("*.md")),
    *sorted((ROOT / "benchmarks").glob("*.md")),
    ROOT / "deploy" / "README.md",
    ROOT / "data" / "README.md",
]
PARSE = mistune.create_markdown(renderer=None, plugins=["table"])


def walk(tokens):
    """Every token of a mistune syntax tree, depth first."""
    for token in tokens:
        yield token
        yield from walk(token.get("children", []))


def text_of(token):
    """The plain text of a token: its raw text and its children's, code spans included."""
    return token.get("raw", "") + "".join(text_of(child) for child in token.get("children", []))


def slug(heading):
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(path):
    """The #anchors a Markdown file's headings make, repeated ones numbered as GitHub numbers them."""
    seen, names = {}, set()
    for token in walk(PARSE(path.read_text())):
        if token["type"] == "heading":
            name = slug(text_of(token))
            count = seen.get(name, 0)
            seen[name] = count + 1
            names.add(f"{name}-{count}" if count else name)
    return names


def broken_links(path):
    """The relative links and images of a Markdown file that reach no file, or no heading of it."""
    broken = []
    for token in walk(PARSE(path.read_text())):
        if token["type"] not in ("link", "image"):
            continue
        url = token["attrs"]["url"]
        parts = urlsplit(url)
        if parts.scheme or parts.netloc:  # http(s), mailto: not checked offline
            continue
        target = (path.parent / unquote(parts.path)).resolve() if parts.path else path
        if not target.exists():
            broken.append(f"{url}: no file {target}")
        elif parts.fragment and target.suffix == ".md" and parts.fragment not in anchors(target):
            broken.append(f"{url}: no heading #{parts.fragment} in {target.name}")
    return broken


@pytest.mark.parametrize("path", DOCS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_relative_link_reaches_a_file_and_heading(path):
    assert broken_links(path) == []


def test_a_missing_file_and_a_missing_heading_are_reported(tmp_path):
    (tmp_path / "other.md").write_text("# The `fast` model (v2)\n\n## Notes\n\n## Notes\n")
    page = tmp_path / "page.md"
    page.write_text(
        "# Here\n\n[ok](other.md#the-fast-model-v2) [ok](other.md#notes-1) [ok](#here) [web](https://example.org)\n"
        "`[code](nowhere.md)`\n\n[gone](missing.md) ![gone](pic.png) [bad](other.md#nope) [bad](#there)\n"
    )
    assert broken_links(page) == [
        f"missing.md: no file {tmp_path / 'missing.md'}",
        f"pic.png: no file {tmp_path / 'pic.png'}",
        "other.md#nope: no heading #nope in other.md",
        "#there: no heading #there in page.md",
    ]
