#!/usr/bin/env python3
"""Code-shape figures for the apimcp workspace, to compare before and after a refactor.

Usage: scripts/code-metrics.py [WORKSPACE]   (default: the repository this script lives in)

Python 3.11, standard library only; reads files, compiles nothing.

Selection ("the selection" below): the `.rs` files under `crates/apimcp/src` (lib) and
`crates/apimcp-cli/src` (cli), leaving out files named `tests.rs` and anything under a
`tests/`, `benches/` or `examples/` folder. Inside each file, `#[cfg(test)] mod NAME { ... }`
blocks are left out too. Before any brace matching, comments (`//`, `/* */` nested, doc
comments), string literals (plain, byte, C, raw `r#"..."#`) and char literals are masked
to spaces (newlines kept, so line numbers stay right); lifetimes and labels (`'a`) are
left alone.

1. Function length: every `fn NAME` item with a body (free functions, methods, trait
   default methods, functions nested in bodies). Length = lines from the line holding
   `fn` to the line holding the body's closing brace, inclusive (attributes and doc
   comments above are not counted). Median is `statistics.median`; p90 is nearest-rank
   (the ceil(0.9 n)-th smallest). Methods are named `Type::name` after their `impl`/`trait`.
   Calibration at commit 312f016 against the architecture review (521 fns, median 9,
   p90 28, <=5 30%, 6-20 53%, 21-50 16%, >50 1.5%; register 99 at
   auth/proxy/endpoints.rs:659, Proxy::check_request 88, keyword 79, callback 75):
   this script gives exactly 521 fns, median 9, p90 28, 29.9% / 53.0% / 15.5% / 1.5%, and
   the same four longest at the same lengths (register 99 at endpoints.rs:659,
   Proxy::check_request 88, Normalizer::keyword 79, callback 75). Trait method
   declarations without a body (11 today) are not counted.
2. Files: per crate, the number of selected files, median / p90 / largest of their
   physical line counts (whole file, as `wc -l`, test modules included), files > 600 lines.
3. Doc-comment share: lines whose first non-blank characters are `///` or `//!`, over all
   physical lines of the lib's selected files (review: 9%; this gives 9.1%). The share over
   every `.rs` under `crates/apimcp/src`, `tests.rs` files included, is printed too (8.4%).
4. Doctests: fenced blocks (``` or ~~~) opened in `///` / `//!` comments of the lib
   selection whose info string is empty or made only of rustdoc's Rust attributes that
   still compile the block (rust, no_run, should_panic, compile_fail, editionNNNN,
   test_harness, standalone_crate); `ignore`, `text`, `json`, `toml`, `sh`, ... are not
   counted. `#[doc = include_str!("FILE")]` / `#![doc = ...]` adds the same count over
   FILE's markdown fences.
5. `Result<_, String>`: (a) functions in the selection (any visibility) whose written
   return type is `Result<T, String>` (any path ending in `Result`, two generic
   arguments, the second exactly `String`); (b) public handler contracts: `pub fn`s whose
   signature (generic bounds / where clause / parameter types) demands a handler returning
   `Result<_, String>` (e.g. `Fut: Future<Output = Result<..., String>>`); (c) type aliases
   and struct fields whose type holds a handler (`Fn`/`BoxFuture`/`Future`) returning
   `Result<_, String>`. Other mentions (stored results, closures) are listed for
   information only. Review: 14 functions + 3 public handler contracts.
6. Upward imports.
   (a) Crate level: the lib's top-level modules (`server`, `mcp`, `auth`, ...) form a graph
       with an edge A -> B whenever code (comments masked) in A's files names `crate::B`.
       Listed: the files under `server/` naming `crate::mcp` (with mention counts), and
       every cycle (strongly connected set) of that graph.
   (b) Inside a module: each `use super::...` / `use crate::...` statement in a
       non-test module is resolved against the module tree (from file layout and `mod`
       declarations). The path walks down through known modules; the first segment that is
       not a module is the imported item, in the target module. The statement is UPWARD
       when the target module is a strict ancestor of the importing module and at least one
       imported name is an item *defined* in the ancestor's own file (fn, struct, enum,
       trait, type, const, static, union, macro) - not a `mod`, and not a name the ancestor
       only re-exports with `pub use` (so `super::jwt::principal` or a re-exported
       `super::StoreError` from a sibling are not upward). `use super::*` in non-test code
       counts as upward. Counted per statement; the "inside X/" figure is the number of
       upward statements in files under X/ (nested folders included, so auth/'s figure holds
       auth/proxy/'s). Qualified paths in
       code (`impl super::Builder`, `dyn super::Trait`) are listed apart, not counted.
       Review: 5 inside auth/, 1 inside auth/proxy/, 2 inside server/; at 312f016 this rule
       gives 5 / 1 / 3 (server/: `use super::McpServer` in each of fast.rs, mount.rs and
       sse.rs, against the review's 2), and also 2 inside openapi/
       (`use super::OperationError`), which the review did not report.
7. rmcp fence: files in the selection, outside the adapter (`crates/apimcp/src/mcp.rs`
   or `mcp/`), whose code (comments masked) names `rmcp::`; plus the same check over the
   rest of `crates/` (tests, examples, benches, other crates) for information.
"""

from __future__ import annotations

import math
import re
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path

LIB = "crates/apimcp/src"
CLI = "crates/apimcp-cli/src"
SKIP_DIRS = {"tests", "benches", "examples"}
ADAPTER = ("crates/apimcp/src/mcp.rs", "crates/apimcp/src/mcp/")
AREAS = [
    ("auth/", lambda p: p.startswith(LIB + "/auth/")),
    ("openapi/", lambda p: p.startswith(LIB + "/openapi/")),
    ("server/+mcp+transport/", lambda p: p.startswith((LIB + "/server/", LIB + "/transport/", LIB + "/mcp/"))
     or p == LIB + "/mcp.rs"),
    ("call/+tool.rs", lambda p: p.startswith(LIB + "/call/") or p == LIB + "/tool.rs"),
    ("apimcp-cli/src", lambda p: p.startswith(CLI + "/")),
]

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"


# ---------------------------------------------------------------------------------------
# Lexing: mask comments, strings and char literals.


def mask(text: str) -> str:
    """Same length as `text`; comment, string and char-literal contents become spaces
    (newlines kept). String quotes are kept so the code's shape stays readable."""
    out = list(text)
    n = len(text)
    i = 0

    def blank(a: int, b: int) -> None:
        for k in range(a, b):
            if out[k] != "\n":
                out[k] = " "

    def ident_before(k: int) -> bool:
        return k > 0 and (text[k - 1].isalnum() or text[k - 1] == "_")

    while i < n:
        c = text[i]
        if c == "/" and i + 1 < n and text[i + 1] == "/":
            j = text.find("\n", i)
            j = n if j < 0 else j
            blank(i, j)
            i = j
        elif c == "/" and i + 1 < n and text[i + 1] == "*":
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth += 1
                    j += 2
                elif text.startswith("*/", j):
                    depth -= 1
                    j += 2
                else:
                    j += 1
            blank(i, j)
            i = j
        elif c in "rbc" and not ident_before(i):
            # raw strings r"..", r#".."#, br"..", cr"..", or b".." / c".." / b'x'
            m = re.compile(r'(?:br|cr|r)(#*)"').match(text, i)
            if m:
                hashes = m.group(1)
                end = text.find('"' + hashes, m.end())
                end = n if end < 0 else end
                blank(m.end(), end)
                i = end + 1 + len(hashes)
                continue
            if c in "bc" and i + 1 < n and text[i + 1] in "\"'":
                i += 1  # fall through to the quote on the next round
                continue
            i += 1
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            blank(i + 1, min(j, n))
            i = j + 1
        elif c == "'":
            # char literal or lifetime / label
            if i + 1 < n and text[i + 1] == "\\":
                j = i + 2
                while j < n and text[j] != "'":
                    j += 2 if text[j] == "\\" else 1
                blank(i + 1, min(j, n))
                i = j + 1
            elif i + 2 < n and text[i + 2] == "'" and text[i + 1] != "\n":
                blank(i + 1, i + 2)
                i += 3
            else:
                i += 1  # lifetime or label
        else:
            i += 1
    return "".join(out)


def match_close(code: str, open_at: int, o: str = "{", c: str = "}") -> int:
    depth = 0
    for k in range(open_at, len(code)):
        ch = code[k]
        if ch == o:
            depth += 1
        elif ch == c:
            depth -= 1
            if depth == 0:
                return k
    return len(code) - 1


CFG_TEST_MOD = re.compile(
    r"#\s*\[\s*cfg\s*\(\s*test\s*\)\s*\]\s*(?:#\s*\[[^\]]*\]\s*)*(?:pub(?:\s*\([^)]*\))?\s+)?mod\s+"
    + IDENT
    + r"\s*\{"
)


def test_mods(code: str) -> list[tuple[int, int]]:
    """Spans of `#[cfg(test)] mod x { ... }` blocks in masked code."""
    return [(m.start(), match_close(code, m.end() - 1) + 1) for m in CFG_TEST_MOD.finditer(code)]


def blank_spans(text: str, spans: list[tuple[int, int]]) -> str:
    out = list(text)
    for a, b in spans:
        for k in range(a, b):
            if out[k] != "\n":
                out[k] = " "
    return "".join(out)


# ---------------------------------------------------------------------------------------
# Files


@dataclass
class Source:
    rel: str  # path relative to the workspace
    text: str
    code: str  # masked, test modules blanked
    doc_text: str  # unmasked, test modules blanked
    crate: str  # "lib" or "cli"
    line_starts: list[int] = field(default_factory=list)

    def line_of(self, pos: int) -> int:
        lo, hi = 0, len(self.line_starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.line_starts[mid] <= pos:
                lo = mid
            else:
                hi = mid - 1
        return lo + 1

    @property
    def lines(self) -> int:
        return self.text.count("\n") + (0 if self.text.endswith("\n") or not self.text else 1)


def selected(root: Path, base: str) -> list[Path]:
    out = []
    for p in sorted((root / base).rglob("*.rs")):
        parts = p.relative_to(root / base).parts
        if p.name == "tests.rs" or any(d in SKIP_DIRS for d in parts[:-1]):
            continue
        out.append(p)
    return out


def load(root: Path) -> list[Source]:
    srcs = []
    for base, crate in ((LIB, "lib"), (CLI, "cli")):
        for p in selected(root, base):
            text = p.read_text(encoding="utf-8")
            masked = mask(text)
            spans = test_mods(masked)
            s = Source(p.relative_to(root).as_posix(), text, blank_spans(masked, spans),
                       blank_spans(text, spans), crate)
            s.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
            srcs.append(s)
    return srcs


# ---------------------------------------------------------------------------------------
# 1. Functions


@dataclass
class Fn:
    src: Source
    name: str
    line: int
    length: int
    fn_at: int
    sig: str  # from `fn` up to the body's `{` (or the `;`)
    has_body: bool
    public: bool


FN_RE = re.compile(r"\bfn\s+(" + IDENT + r")")
BLOCK_RE = re.compile(r"\b(impl|trait)\b")


def owners(code: str) -> list[tuple[int, int, str]]:
    """(body start, body end, type name) of `impl` and `trait` blocks."""
    out = []
    for m in BLOCK_RE.finditer(code):
        # header: up to the next `{` or `;` at paren depth 0
        k, depth = m.end(), 0
        while k < len(code):
            ch = code[k]
            if ch in "([":
                depth += 1
            elif ch in ")]":
                depth -= 1
            elif depth == 0 and ch in "{;":
                break
            k += 1
        if k >= len(code) or code[k] != "{":
            continue
        header = code[m.end():k]
        if m.group(1) == "impl":
            header = re.sub(r"\bwhere\b.*", "", header, flags=re.S)
            header = strip_generics(header).strip()
            if re.search(r"\bfor\b", header):
                header = re.split(r"\bfor\b", header)[-1]
            names = re.findall(IDENT, header)
            names = [x for x in names if x not in ("dyn", "mut", "const", "unsafe")]
            name = names[-1] if names else "?"
        else:
            mm = re.match(r"\s*(" + IDENT + ")", header)
            name = mm.group(1) if mm else "?"
        out.append((k, match_close(code, k), name))
    return out


def strip_generics(s: str) -> str:
    """Drop `<...>` groups (balanced; `->` is not a bracket)."""
    out, depth = [], 0
    for i, ch in enumerate(s):
        if ch == "<":
            depth += 1
        elif ch == ">" and not (i > 0 and s[i - 1] == "-"):
            depth = max(0, depth - 1)
        elif depth == 0:
            out.append(ch)
    return "".join(out)


def functions(srcs: list[Source]) -> list[Fn]:
    fns = []
    for s in srcs:
        code = s.code
        blocks = owners(code)
        for m in FN_RE.finditer(code):
            k, depth = m.end(), 0
            while k < len(code):
                ch = code[k]
                if ch in "([":
                    depth += 1
                elif ch in ")]":
                    depth -= 1
                elif depth == 0 and ch in "{;":
                    break
                k += 1
            if k >= len(code):
                continue
            line = s.line_of(m.start())
            has_body = code[k] == "{"
            end = match_close(code, k) if has_body else k
            inside = [b for b in blocks if b[0] < m.start() < b[1]]
            name = m.group(1)
            if inside:
                name = min(inside, key=lambda b: b[1] - b[0])[2] + "::" + name
            line_start = s.line_starts[line - 1]
            prefix = code[line_start:m.start()]
            fns.append(Fn(s, name, line, s.line_of(end) - line + 1, m.start(), code[m.start():k],
                          has_body, bool(re.search(r"\bpub\b(?!\s*\()", prefix))))
    return fns


def pct(n: int, total: int) -> str:
    return f"{100 * n / total:.1f}%" if total else "-"


def spread(lengths: list[int]) -> str:
    n = len(lengths)
    if not n:
        return "no functions"
    xs = sorted(lengths)
    med = statistics.median(xs)
    p90 = xs[math.ceil(0.9 * n) - 1]
    a = sum(x <= 5 for x in xs)
    b = sum(6 <= x <= 20 for x in xs)
    c = sum(21 <= x <= 50 for x in xs)
    d = sum(x > 50 for x in xs)
    med_s = f"{med:g}"
    return (f"count {n:4d}  median {med_s:>4}  p90 {p90:3d}  "
            f"<=5 {pct(a, n):>6}  6-20 {pct(b, n):>6}  21-50 {pct(c, n):>6}  >50 {pct(d, n):>5}  "
            f"(max {xs[-1]})")


def report_functions(fns: list[Fn]) -> None:
    print("== 1. Function length (fn line .. closing brace, inclusive)")
    bodies = [f for f in fns if f.has_body]
    print(f"all            {spread([f.length for f in bodies])}")
    for label, pred in AREAS:
        print(f"  {label:<23}{spread([f.length for f in bodies if pred(f.src.rel)])}")
    rest = [f for f in bodies if not any(pred(f.src.rel) for _, pred in AREAS)]
    print(f"  {'(other lib files)':<23}{spread([f.length for f in rest])}")
    print("15 longest:")
    for f in sorted(bodies, key=lambda f: (-f.length, f.src.rel, f.line))[:15]:
        print(f"  {f.length:4d}  {f.name:<40} {f.src.rel}:{f.line}")
    print()


# ---------------------------------------------------------------------------------------
# 2. Files


def report_files(srcs: list[Source]) -> None:
    print("== 2. Files (selected .rs files, physical lines)")
    for crate, base in (("lib", LIB), ("cli", CLI)):
        fs = [s for s in srcs if s.crate == crate]
        if not fs:
            print(f"{crate}: no files")
            continue
        ls = sorted(s.lines for s in fs)
        big = max(fs, key=lambda s: s.lines)
        print(f"{crate} ({base}): {len(fs)} files, median {statistics.median(ls):g} lines, "
              f"p90 {ls[math.ceil(0.9 * len(ls)) - 1]}, largest {big.lines} ({big.rel}), "
              f"total {sum(ls)}")
        over = sorted((s for s in fs if s.lines > 600), key=lambda s: -s.lines)
        print(f"  over 600 lines: {len(over)}")
        for s in over:
            print(f"    {s.lines:5d}  {s.rel}")
    print()


# ---------------------------------------------------------------------------------------
# 3. Doc comments


def doc_lines(text: str) -> tuple[int, int]:
    lines = text.splitlines()
    return sum(x.lstrip().startswith(("///", "//!")) for x in lines), len(lines)


def report_docs(root: Path, srcs: list[Source]) -> None:
    print("== 3. Doc-comment share (/// and //! lines over all lines of crates/apimcp/src)")
    doc = total = 0
    for s in srcs:
        if s.crate == "lib":
            d, t = doc_lines(s.text)
            doc, total = doc + d, total + t
    print(f"lib, selected files:        {doc} / {total} lines = {pct(doc, total)}")
    doc = total = 0
    for p in sorted((root / LIB).rglob("*.rs")):
        d, t = doc_lines(p.read_text(encoding="utf-8"))
        doc, total = doc + d, total + t
    print(f"lib, every .rs incl. tests: {doc} / {total} lines = {pct(doc, total)}")
    print()


# ---------------------------------------------------------------------------------------
# 4. Doctests

RUST_ATTRS = {"rust", "no_run", "should_panic", "compile_fail", "test_harness", "standalone_crate"}
FENCE = re.compile(r"^\s*(```+|~~~+)\s*(.*)$")


def is_tested(info: str) -> bool:
    tokens = [t for t in re.split(r"[\s,]+", info.strip().strip("{}")) if t]
    return all(t in RUST_ATTRS or re.fullmatch(r"edition\d{4}", t) or t.startswith(".") for t in tokens)


def count_blocks(lines: list[str]) -> int:
    """Tested Rust blocks among markdown lines."""
    count, fence = 0, None
    for line in lines:
        m = FENCE.match(line)
        if not m:
            continue
        if fence is None:
            fence = m.group(1)
            count += is_tested(m.group(2))
        elif m.group(1).startswith(fence[0]) and len(m.group(1)) >= len(fence) and not m.group(2).strip():
            fence = None
    return count


DOC_INCLUDE = re.compile(r"#!?\[\s*doc\s*=\s*include_str!\(\s*\"([^\"]+)\"\s*\)\s*\]")


def report_doctests(root: Path, srcs: list[Source]) -> None:
    print("== 4. Doctests (tested Rust fences in /// and //! comments of the lib, plus doc = include_str!)")
    total = 0
    for s in srcs:
        if s.crate != "lib":
            continue
        groups: list[list[str]] = []
        cur: list[str] = []
        for line in s.doc_text.split("\n"):
            t = line.lstrip()
            if t.startswith("///") or t.startswith("//!"):
                cur.append(t[3:])
            elif cur:
                groups.append(cur)
                cur = []
        if cur:
            groups.append(cur)
        n = sum(count_blocks(g) for g in groups)
        for m in DOC_INCLUDE.finditer(s.text):
            inc = (root / s.rel).parent / m.group(1)
            if inc.exists():
                k = count_blocks(inc.read_text(encoding="utf-8").splitlines())
                print(f"  include_str {m.group(1)} in {s.rel}: {k}")
                n += k
        if n:
            print(f"  {n:3d}  {s.rel}")
        total += n
    print(f"total: {total}")
    print()


# ---------------------------------------------------------------------------------------
# 5. Result<_, String>

RESULT_RE = re.compile(r"\b(?:" + IDENT + r"::)*Result\s*<")


def generic_args(s: str, open_at: int) -> tuple[list[str], int]:
    """Top-level generic arguments of the `<` at `open_at`; returns (args, index of `>`)."""
    depth, start, args = 0, open_at + 1, []
    k = open_at
    while k < len(s):
        ch = s[k]
        if ch in "<([":
            depth += 1
        elif ch == ">" and s[k - 1] == "-":
            pass
        elif ch in ">)]":
            depth -= 1
            if depth == 0:
                args.append(s[start:k].strip())
                return args, k
        elif ch == "," and depth == 1:
            args.append(s[start:k].strip())
            start = k + 1
        k += 1
    return args, k


def string_results(s: str) -> list[tuple[int, int]]:
    """Spans of every `Result<T, String>` in `s`."""
    out = []
    for m in RESULT_RE.finditer(s):
        args, end = generic_args(s, m.end() - 1)
        if len(args) == 2 and re.sub(r"\s", "", args[1]) in ("String", "std::string::String",
                                                                "alloc::string::String"):
            out.append((m.start(), end))
    return out


def return_type(sig: str) -> str | None:
    """The written return type of a fn signature (text after the params' `->`)."""
    k = sig.find("(")
    if k < 0:
        return None
    close = match_close(sig, k, "(", ")")
    rest = sig[close + 1:]
    m = re.match(r"\s*->\s*", rest)
    if not m:
        return None
    return re.split(r"\bwhere\b", rest[m.end():])[0].strip()


def report_string_results(fns: list[Fn], srcs: list[Source]) -> None:
    print("== 5. Result<_, String>")
    counted: set[tuple[str, int]] = set()
    rets = []
    contracts = []
    for f in fns:
        rt = return_type(f.sig)
        if rt is not None and string_results(rt) and string_results(rt)[0][0] == 0 \
                and string_results(rt)[0][1] == len(rt) - 1:
            rets.append(f)
        hits = string_results(f.sig)
        for a, _ in hits:
            counted.add((f.src.rel, f.src.line_of(f.fn_at + a)))
        if f.public and any(re.search(r"(Output\s*=|->)\s*$", f.sig[:a]) for a, _ in hits) \
                and f not in rets:
            contracts.append(f)
    print(f"(a) functions returning Result<_, String>: {len(rets)}")
    for f in sorted(rets, key=lambda f: (f.src.rel, f.line)):
        print(f"    {f.src.rel}:{f.line}  {f.name}  -> {return_type(f.sig)}")
    print(f"(b) public handler contracts (pub fn demanding a handler that returns Result<_, String>): "
          f"{len(contracts)}")
    for f in sorted(contracts, key=lambda f: (f.src.rel, f.line)):
        print(f"    {f.src.rel}:{f.line}  {f.name}")
    aliases, others = [], []
    for s in srcs:
        for a, b in string_results(s.code):
            line = s.line_of(a)
            if (s.rel, line) in counted:
                continue
            ls = s.line_starts[line - 1]
            le = s.code.find("\n", a)
            text = s.code[ls:le].strip()
            before = s.code[ls:a]
            handler = re.search(r"\b(Fn|FnMut|FnOnce|BoxFuture|Future)\b", before) is not None
            if re.match(r"(pub(\([^)]*\))?\s+)?type\s", text) and handler:
                aliases.append(f"{s.rel}:{line}  {text}")
            elif re.match(r"(pub(\([^)]*\))?\s+)?" + IDENT + r"\s*:", text) and handler:
                aliases.append(f"{s.rel}:{line}  {text}")
            else:
                others.append(f"{s.rel}:{line}  {text}")
    print(f"(c) handler type aliases / fields returning Result<_, String>: {len(aliases)}")
    for x in aliases:
        print(f"    {x}")
    print(f"other mentions (not counted): {len(others)}")
    for x in others:
        print(f"    {x}")
    print()


# ---------------------------------------------------------------------------------------
# 6. Upward imports


@dataclass
class Module:
    path: tuple[str, ...]
    src: Source | None
    children: set[str] = field(default_factory=set)
    own: set[str] = field(default_factory=set)  # items defined here
    reexports: set[str] = field(default_factory=set)


ITEM_RE = re.compile(
    r"^[ \t]*(?:pub(?:\s*\([^)]*\))?\s+)?(?:(?:async|const|unsafe|default|extern(?:\s+\"[^\"]*\")?)\s+)*"
    r"(fn|struct|enum|trait|type|const|static|union|mod|macro_rules!)\s*(" + IDENT + ")",
    re.M,
)
USE_RE = re.compile(r"(?:^|[;{}\n])[ \t]*((?:pub(?:\s*\([^)]*\))?\s+)?)use\s+([^;]+);")


def module_path(rel: str, base: str) -> tuple[str, ...]:
    parts = list(Path(rel).relative_to(base).with_suffix("").parts)
    if parts[-1] in ("mod", "lib", "main"):
        parts.pop()
    return tuple(parts)


def top_level(code: str) -> str:
    """Code at brace depth 0 only (deeper text blanked)."""
    out, depth = [], 0
    for ch in code:
        if ch == "}":
            depth -= 1
        out.append(ch if depth == 0 or ch == "\n" else " ")
        if ch == "{":
            depth += 1
    return "".join(out)


def expand_use(tree: str) -> list[list[str]]:
    """`a::{b, c::{d as e, self}}` -> [[a, b], [a, c, d], [a, c]] (renames dropped)."""

    def parse(s: str, prefix: list[str]) -> list[list[str]]:
        s = s.strip()
        if "{" not in s:
            s = re.split(r"\s+as\s+", s)[0]
            segs = [x.strip() for x in s.split("::") if x.strip()]
            if segs and segs[-1] == "self":
                segs = segs[:-1]
            return [prefix + segs]
        k = s.index("{")
        head = [x.strip() for x in s[:k].split("::") if x.strip()]
        inner = s[k + 1:match_close(s, k)]
        out, depth, start = [], 0, 0
        for i, ch in enumerate(inner + ","):
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            elif ch == "," and depth == 0:
                if inner[start:i].strip():
                    out += parse(inner[start:i], prefix + head)
                start = i + 1
        return out

    return parse(re.sub(r"\s+", " ", tree), [])


def depth_at(code: str) -> list[int]:
    """Brace depth before each character."""
    out, depth = [], 0
    for ch in code:
        if ch == "}":
            depth -= 1
        out.append(depth)
        if ch == "{":
            depth += 1
    return out


def build_modules(srcs: list[Source], crate: str, base: str) -> dict[tuple[str, ...], Module]:
    mods: dict[tuple[str, ...], Module] = {}
    for s in srcs:
        if s.crate != crate:
            continue
        mp = module_path(s.rel, base)
        mods[mp] = Module(mp, s)
    for mp in list(mods):
        for i in range(len(mp)):
            mods.setdefault(mp[:i], Module(mp[:i], None))
            mods[mp[:i]].children.add(mp[i])
    for mp, mod in mods.items():
        if mod.src is None:
            continue
        top = top_level(mod.src.code)
        for m in ITEM_RE.finditer(top):
            (mod.children if m.group(1) == "mod" else mod.own).add(m.group(2))
        depth = depth_at(mod.src.code)
        for m in USE_RE.finditer(mod.src.code):
            if not m.group(1) or depth[m.start(2)] != 0:
                continue  # private `use` or one inside a block: not a re-export
            for path in expand_use(m.group(2)):
                if path:
                    mod.reexports.add(path[-1])
            mod.reexports.update(re.findall(r"\bas\s+(" + IDENT + ")", m.group(2)))
    return mods


def resolve(mods, here: tuple[str, ...], path: list[str]):
    """(target module, remaining segments) for a `crate::`/`super::`/`self::` path."""
    if not path:
        return None
    cur = here
    segs = list(path)
    if segs[0] == "crate":
        cur, segs = (), segs[1:]
    elif segs[0] in ("super", "self"):
        while segs and segs[0] in ("super", "self"):
            if segs[0] == "super":
                cur = cur[:-1]
            segs = segs[1:]
    else:
        return None
    while segs and cur in mods and segs[0] in mods[cur].children:
        cur, segs = cur + (segs[0],), segs[1:]
    return cur, segs


def is_ancestor(target: tuple[str, ...], here: tuple[str, ...]) -> bool:
    return len(target) < len(here) and here[:len(target)] == target


def is_upward(mods, here, target, segs) -> bool:
    if not is_ancestor(target, here):
        return False
    if not segs:
        return False  # the module itself
    name = segs[0]
    if name == "*":
        return True
    mod = mods.get(target)
    return mod is not None and name in mod.own


def report_upward(srcs: list[Source]) -> None:
    print("== 6. Upward imports")
    lib = [s for s in srcs if s.crate == "lib"]
    tops = {module_path(s.rel, LIB)[0] for s in lib if module_path(s.rel, LIB)}
    edges: dict[str, set[str]] = {t: set() for t in tops}
    server_mcp = []
    for s in lib:
        mp = module_path(s.rel, LIB)
        if not mp:
            continue
        for m in re.finditer(r"\bcrate\s*::\s*(" + IDENT + ")", s.code):
            if m.group(1) in tops and m.group(1) != mp[0]:
                edges[mp[0]].add(m.group(1))
        if mp[0] == "server":
            n = len(re.findall(r"\bcrate\s*::\s*mcp\b", s.code))
            if n:
                server_mcp.append((s.rel, n))
    print(f"(a) files under {LIB}/server/ naming crate::mcp: {len(server_mcp)} files, "
          f"{sum(n for _, n in server_mcp)} mentions")
    for rel, n in server_mcp:
        print(f"    {n}  {rel}")
    back = [s.rel for s in lib if module_path(s.rel, LIB)[:1] == ("mcp",)
            and re.search(r"\bcrate\s*::\s*server\b", s.code)]
    cycle = bool(server_mcp) and bool(back)
    print(f"    mcp names crate::server: {'yes (' + ', '.join(back) + ')' if back else 'no'}"
          f" -> server <-> mcp cycle: {'YES' if cycle else 'no'}")
    sccs = [c for c in strongly_connected(edges) if len(c) > 1]
    print(f"    module-level cycles (strongly connected sets of top-level lib modules): {len(sccs)}")
    for c in sccs:
        print(f"      {{{', '.join(sorted(c))}}}")
        for a in sorted(c):
            print(f"        {a} -> {', '.join(sorted(x for x in edges[a] if x in c))}")

    print("(b) use statements importing a strict ancestor module's own items")
    ups: list[tuple[str, int, str]] = []
    inline: list[tuple[str, int, str]] = []
    reexported: list[tuple[str, int, str]] = []
    for crate, base in (("lib", LIB), ("cli", CLI)):
        mods = build_modules(srcs, crate, base)
        for s in srcs:
            if s.crate != crate:
                continue
            here = module_path(s.rel, base)
            spans = []
            for m in USE_RE.finditer(s.code):
                spans.append((m.start(2), m.end()))
                paths = expand_use(m.group(2))
                hit = via = False
                for p in paths:
                    r = resolve(mods, here, p)
                    if r and is_upward(mods, here, *r):
                        hit = True
                    elif r and r[1] and is_ancestor(r[0], here) and r[1][0] in mods[r[0]].reexports:
                        via = True
                text = (s.rel, s.line_of(m.start(2)), re.sub(r"\s+", " ", m.group(2)).strip())
                if hit:
                    ups.append(text)
                elif via:
                    reexported.append(text)
            for m in re.finditer(r"(?<![A-Za-z0-9_:])((?:crate|super|self)(?:\s*::\s*" + IDENT + ")+)", s.code):
                if any(a <= m.start() < b for a, b in spans):
                    continue
                p = [x.strip() for x in m.group(1).split("::")]
                r = resolve(mods, here, p)
                if r and is_upward(mods, here, *r):
                    inline.append((s.rel, s.line_of(m.start()), m.group(1)))
    groups = [("auth/", LIB + "/auth/"), ("auth/proxy/", LIB + "/auth/proxy/"),
              ("server/", LIB + "/server/"), ("openapi/", LIB + "/openapi/"), ("call/", LIB + "/call/"),
              ("apimcp-cli/src/", CLI + "/")]
    print("    " + ", ".join(f"inside {g}: {sum(u[0].startswith(p) for u in ups)}" for g, p in groups)
          + f"; total: {len(ups)}")
    for rel, line, text in ups:
        print(f"    {rel}:{line}  use {text}")
    print(f"    use statements taking only names an ancestor re-exports (not counted): {len(reexported)}")
    for rel, line, text in reexported:
        print(f"      {rel}:{line}  use {text}")
    print(f"    qualified upward paths in code (not counted): {len(inline)}")
    for rel, line, text in inline:
        print(f"      {rel}:{line}  {text}")
    print()


def strongly_connected(edges: dict[str, set[str]]) -> list[set[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[set[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on.discard(w)
                comp.add(w)
                if w == v:
                    break
            out.append(comp)

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


# ---------------------------------------------------------------------------------------
# 7. rmcp fence


def report_rmcp(root: Path, srcs: list[Source]) -> None:
    print("== 7. rmcp fence (code naming rmcp::, outside the adapter crates/apimcp/src/mcp.rs)")
    inside = [s.rel for s in srcs if s.rel.startswith(ADAPTER) and re.search(r"\brmcp\s*::", s.code)]
    outside = [s.rel for s in srcs if not s.rel.startswith(ADAPTER) and re.search(r"\brmcp\s*::", s.code)]
    print(f"adapter files naming rmcp::: {', '.join(inside) or 'none'}")
    print(f"selection files outside the adapter naming rmcp::: {len(outside)}")
    for rel in outside:
        print(f"    {rel}")
    seen = {s.rel for s in srcs}
    rest = []
    for p in sorted((root / "crates").rglob("*.rs")):
        rel = p.relative_to(root).as_posix()
        if rel in seen or rel.startswith(ADAPTER) or "/target/" in rel:
            continue
        if re.search(r"\brmcp\s*::", mask(p.read_text(encoding="utf-8"))):
            rest.append(rel)
    print(f"elsewhere under crates/ (tests, examples, benches, other crates; information): {len(rest)}")
    for rel in rest:
        print(f"    {rel}")
    print()


# ---------------------------------------------------------------------------------------


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent
    root = root.resolve()
    if not (root / LIB).is_dir():
        sys.exit(f"{root}: no {LIB}")
    srcs = load(root)
    print(f"workspace: {root}")
    print(f"selection: {sum(s.crate == 'lib' for s in srcs)} lib files, {sum(s.crate == 'cli' for s in srcs)} cli files")
    print()
    fns = functions(srcs)
    report_functions(fns)
    report_files(srcs)
    report_docs(root, srcs)
    report_doctests(root, srcs)
    report_string_results(fns, srcs)
    report_upward(srcs)
    report_rmcp(root, srcs)


if __name__ == "__main__":
    main()
