#!/usr/bin/env python3
"""Check the Markdown docs: prose blocks of at most 600 characters, and relative links that resolve.

Usage: scripts/check-docs.py [--report] [--max N] [--root DIR] [FILE.md ...]

Without files it checks README.md and docs/*.md of the repository (git's top level, or --root).

Prose blocks. A block is a paragraph or a list item. A list item is its first line and the lines that
continue it, up to a blank line, the next item, or another block; a second paragraph inside an item is a
block of its own. Code blocks (fenced, or indented outside a list), tables, headings, HTML comments and
link reference definitions are not prose. A block's length is measured on the raw Markdown source: each
of its lines is stripped of surrounding white space (and of a blockquote's ">"), the list marker is
dropped, and the lines are joined with one space; the length is the number of Unicode characters of that
text. Link targets and markup count, since they are what an editor reads.

Links. Every inline link or image, [text](target), and every reference definition, [label]: target, whose
target has no scheme (http:, mailto:, ...) must resolve:
  - the path, relative to the file, must exist in the repository (a file or a directory) and must not
    leave it;
  - an anchor into a Markdown file (#section, or file.md#section) must be the GitHub slug of one of its
    headings: lower case, punctuation other than "-" and "_" removed, spaces turned into "-", and "-1",
    "-2", ... added to repeated headings; an explicit <a name="..."> or id="..." counts too;
  - an anchor #L12 or #L12-L20 into any other file must name lines the file has.
Links inside code spans and code blocks are not checked.

Exit status: 0 when every block and link passes, 1 when one does not, 2 on a usage error. With --report
it lists every offender, the longest block first, with file:line and its length, and exits 0.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import urllib.parse
from dataclasses import dataclass, field

MAX_BLOCK = 600

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
THEMATIC = re.compile(r"^ {0,3}((\*[ \t]*){3,}|(-[ \t]*){3,}|(_[ \t]*){3,})$")
LIST_ITEM = re.compile(r"^(?P<indent>[ \t]*)(?P<marker>[-*+]|\d{1,9}[.)])(?:[ \t]+|$)")
TABLE_ROW = re.compile(r"^[ \t]*\|")
REF_DEF = re.compile(r"^ {0,3}\[(?P<label>[^\]]+)\]:[ \t]*(?P<target><[^>]*>|\S+)")
HTML_ANCHOR = re.compile(r"""<a\s[^>]*\bname=["']([^"']+)["']|\bid=["']([^"']+)["']""", re.IGNORECASE)
LINE_ANCHOR = re.compile(r"^L(\d+)(?:-L(\d+))?$")
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


@dataclass
class Block:
    path: str
    line: int
    parts: list[str] = field(default_factory=list)
    item: bool = False  # a list item, not a paragraph

    @property
    def text(self) -> str:
        return " ".join(p for p in self.parts if p)


@dataclass
class Doc:
    path: str
    blocks: list[Block]
    headings: list[str]  # heading texts in order, for slugs
    html_ids: set[str]
    links: list[tuple[int, str]]  # (line, target)


def strip_quote(line: str) -> str:
    """Drops blockquote markers: "> > text" reads as "text"."""
    while True:
        m = re.match(r"^ {0,3}> ?", line)
        if not m:
            return line
        line = line[m.end():]


def code_spans_removed(text: str) -> str:
    """Blanks out `code spans`, so links inside them are not read as links."""
    out, i = [], 0
    while i < len(text):
        if text[i] == "`":
            n = len(text[i:]) - len(text[i:].lstrip("`"))
            ticks = text[i:i + n]
            end = text.find(ticks, i + n)
            while end != -1 and end + n < len(text) and text[end + n] == "`":
                end = text.find(ticks, end + n + 1)
            if end == -1:
                out.append(ticks)
                i += n
                continue
            out.append(" " * (end + n - i))
            i = end + n
            continue
        out.append(text[i])
        i += 1
    return "".join(out)


def inline_links(text: str) -> list[tuple[int, str]]:
    """The offsets and targets of [text](target) and ![alt](target) in text, nested brackets allowed."""
    text = code_spans_removed(text)
    targets = []
    i = 0
    while True:
        j = text.find("](", i)
        if j == -1:
            return targets
        # The link text must open with an unmatched "[" before j.
        depth, k = 0, j - 1
        while k >= 0:
            if text[k] == "]":
                depth += 1
            elif text[k] == "[":
                if depth == 0:
                    break
                depth -= 1
            k -= 1
        start = j + 2
        if k < 0:
            i = start
            continue
        if start < len(text) and text[start] == "<":
            end = text.find(">", start)
            if end == -1:
                i = start
                continue
            targets.append((j, text[start + 1:end]))
            i = end + 1
            continue
        depth, end = 0, start
        while end < len(text):
            c = text[end]
            if c == "(":
                depth += 1
            elif c == ")":
                if depth == 0:
                    break
                depth -= 1
            elif c in " \t" and depth == 0:
                break
            end += 1
        targets.append((j, text[start:end]))
        i = end
    return targets


def parse(path: str, text: str) -> Doc:
    blocks: list[Block] = []
    headings: list[str] = []
    html_ids: set[str] = set()
    links: list[tuple[int, str]] = []
    cur: Block | None = None
    fence: str | None = None
    in_list = False  # a list is open: indented lines continue it rather than start code
    in_comment = False
    prev_blank = True

    def close() -> None:
        nonlocal cur
        if cur is not None and cur.text:
            blocks.append(cur)
            # Links are read from the whole block, since a link's text may wrap onto the next line.
            joined = "\n".join(cur.parts)
            for offset, target in inline_links(joined):
                links.append((cur.line + joined.count("\n", 0, offset), target))
        cur = None

    for n, raw in enumerate(text.splitlines(), start=1):
        if fence is not None:
            s = strip_quote(raw).strip()
            if len(s) >= len(fence) and s == fence[0] * len(s):
                fence = None
            continue
        if in_comment:
            if "-->" in raw:
                in_comment = False
            continue
        line = strip_quote(raw)
        stripped = line.strip()
        for m in HTML_ANCHOR.finditer(line):
            html_ids.add(m.group(1) or m.group(2))

        if not stripped:
            close()
            prev_blank = True
            continue
        if stripped.startswith("<!--"):
            close()
            if "-->" not in stripped:
                in_comment = True
            prev_blank = False
            continue
        m = FENCE.match(line.lstrip() if in_list else line)
        if m:
            close()
            fence = m.group(1)
            prev_blank = False
            continue
        indent = len(line) - len(line.lstrip(" \t"))
        if indent >= 4 and prev_blank and not in_list and cur is None:
            prev_blank = False  # an indented code block
            continue
        m = ATX.match(line)
        if m:
            close()
            headings.append(m.group(2) or "")
            in_list = False
            prev_blank = False
            continue
        if cur is not None and not cur.item and SETEXT.match(line):
            # "Title" over "=====" or "-----" is a heading, not a paragraph.
            headings.append(cur.text)
            cur = None
            prev_blank = False
            continue
        if THEMATIC.match(line):
            close()
            in_list = False
            prev_blank = False
            continue
        if TABLE_ROW.match(line):
            close()
            links.extend((n, t) for _, t in inline_links(line))
            prev_blank = False
            continue
        m = REF_DEF.match(line)
        if m and cur is None:
            target = m.group("target")
            links.append((n, target[1:-1] if target.startswith("<") else target))
            prev_blank = False
            continue
        m = LIST_ITEM.match(line)
        if m and cur is not None and not cur.item and m.group("marker")[0].isdigit() and \
                m.group("marker")[:-1] != "1":
            m = None  # only a list starting at 1 interrupts a paragraph: "2026. ..." continues it
        if m:
            close()
            cur = Block(path, n, [line[m.end():].strip()], item=True)
            in_list = True
        elif cur is None:
            if indent == 0:
                in_list = False
            cur = Block(path, n, [stripped])
        else:
            cur.parts.append(stripped)
        prev_blank = False
    close()
    return Doc(path, blocks, headings, html_ids, links)


def slug_base(heading: str) -> str:
    """GitHub's anchor for a heading's text, before duplicates are numbered."""
    s = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link reads as its text
    s = re.sub(r"<[^>]+>", "", s)  # HTML tags
    s = s.strip().lower()
    s = re.sub(r"[^\w\- ]", "", s)
    return s.replace(" ", "-")


def slugs(doc: Doc) -> set[str]:
    seen: dict[str, int] = {}
    out = set(doc.html_ids)
    for h in doc.headings:
        base = slug_base(h)
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    return out


class Checker:
    def __init__(self, root: str, max_block: int):
        self.root = os.path.realpath(root)
        self.max_block = max_block
        self.docs: dict[str, Doc] = {}

    def doc(self, path: str) -> Doc:
        path = os.path.realpath(path)
        if path not in self.docs:
            with open(path, encoding="utf-8") as f:
                self.docs[path] = parse(path, f.read())
        return self.docs[path]

    def rel(self, path: str) -> str:
        return os.path.relpath(path, os.getcwd())

    def long_blocks(self, path: str) -> list[tuple[str, int, int, str]]:
        return [(self.rel(path), b.line, len(b.text), b.text) for b in self.doc(path).blocks
                if len(b.text) > self.max_block]

    def broken_links(self, path: str) -> list[tuple[str, int, str, str]]:
        out = []
        for line, target in self.doc(path).links:
            problem = self.resolve(path, target)
            if problem:
                out.append((self.rel(path), line, target, problem))
        return out

    def resolve(self, path: str, target: str) -> str | None:
        if not target or SCHEME.match(target) or target.startswith("//"):
            return None
        file_part, _, anchor = target.partition("#")
        file_part = urllib.parse.unquote(file_part.split("?", 1)[0])
        anchor = urllib.parse.unquote(anchor)
        dest = os.path.realpath(os.path.join(os.path.dirname(path), file_part)) if file_part \
            else os.path.realpath(path)
        if os.path.commonpath([dest, self.root]) != self.root:
            return "leaves the repository"
        if not os.path.exists(dest):
            return "no such file or directory"
        if not anchor:
            return None
        if os.path.isdir(dest):
            return "an anchor into a directory"
        if dest.endswith(".md"):
            if anchor not in slugs(self.doc(dest)):
                return f"no heading with the anchor #{anchor}"
            return None
        m = LINE_ANCHOR.match(anchor)
        if not m:
            return f"anchor #{anchor} into a file that is not Markdown (only #L<n> or #L<n>-L<m>)"
        with open(dest, encoding="utf-8", errors="replace") as f:
            lines = sum(1 for _ in f)
        last = int(m.group(2) or m.group(1))
        if last > lines or int(m.group(1)) < 1:
            return f"line {last} is past the end of the file ({lines} lines)"
        return None


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--report", action="store_true",
                    help="list every offender, the longest block first, and exit 0")
    ap.add_argument("--max", type=int, default=MAX_BLOCK, help="the longest prose block allowed (600)")
    ap.add_argument("--root", help="the repository's root (default: git's top level)")
    ap.add_argument("files", nargs="*", help="Markdown files (default: README.md docs/*.md)")
    args = ap.parse_args(argv)

    root = args.root or os.popen("git rev-parse --show-toplevel 2>/dev/null").read().strip() or os.getcwd()
    files = args.files
    if not files:
        files = [os.path.join(root, "README.md")] + sorted(
            os.path.join(root, "docs", f) for f in os.listdir(os.path.join(root, "docs")) if f.endswith(".md"))
    checker = Checker(root, args.max)
    long, broken = [], []
    for f in files:
        if not os.path.isfile(f):
            print(f"check-docs: {f}: no such file", file=sys.stderr)
            return 2
        long += checker.long_blocks(f)
        broken += checker.broken_links(f)

    if args.report:
        print(f"{len(long)} prose block(s) over {args.max} characters:")
        for path, line, n, text in sorted(long, key=lambda x: (-x[2], x[0], x[1])):
            print(f"  {path}:{line}: {n}  {text[:60]}...")
        print(f"{len(broken)} link(s) that do not resolve:")
        for path, line, target, problem in broken:
            print(f"  {path}:{line}: {target}: {problem}")
        return 0
    for path, line, n, _ in long:
        print(f"{path}:{line}: a prose block of {n} characters (at most {args.max})", file=sys.stderr)
    for path, line, target, problem in broken:
        print(f"{path}:{line}: link {target}: {problem}", file=sys.stderr)
    return 1 if long or broken else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
