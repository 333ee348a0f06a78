"""What is sent to the guest's shell and how its answer is read back.

One *batch* (one tick) is one POSIX ``sh`` script: every file is read by ONE ``head -c``
(one fork per tick: forks are what a shell pays for), every ``exists`` / ``is_dir`` /
listing / physical path is a shell builtin (``[``, globbing, ``cd -P``, ``pwd -P``,
``printf``, ``read``). The guest needs ``sh`` and ``head``, nothing else.

Framing that guest content cannot forge:

* every record the script prints starts with ``\\n<TOKEN> `` where TOKEN is 128 random bits
  drawn for each connection; the answer is cut at these markers only;
* ``head`` names each file it prints (``==> PATH <==``); each PATH carries a second random
  code of 64 bits written as redundant ``/`` and ``./`` steps (``/proc/.//./meminfo`` is the
  same file), so a file's content cannot fake the next file's header either;
* the last file's content ends where the next marker starts;
* each file is read with ``head -c`` of at most ``FILE_CAP + 1`` bytes (more means "too
  large", not read), a whole answer is at most ``TICK_CAP`` bytes;
* an answer that does not parse exactly (garbage, a missing header, bytes before the first
  marker) is a ``FramingError``: the caller drops the connection and opens a new one.

Paths and names sent to the guest are single-quoted (``'`` written as ``'\\''``); names
read from the guest are data and are never put back into a script unquoted. Nothing the
guest sends is executed or evaluated locally.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from typing import NamedTuple

FILE_CAP = 1 << 20
TICK_CAP = 8 << 20
_SAFE_NAME = re.compile(r"[A-Za-z0-9._,:@+=/-]+")

KINDS = ("read", "exists", "isdir", "list", "phys")


class FramingError(Exception):
    """The guest's answer does not follow the framing: the connection is not trusted."""


class Query(NamedTuple):
    """One question about the guest's tree: ``kind`` (one of ``KINDS``) of ``rel``."""

    kind: str
    rel: str


class FileResult(NamedTuple):
    data: bytes | None
    reason: str | None  # None, "missing", "permission", "not-a-file", "too-large", "error"


class Reply(NamedTuple):
    """A parsed answer: per query index, what the guest said."""

    files: dict[int, FileResult]
    exists: set[int]
    dirs: set[int]
    lists: dict[int, tuple[list[str] | None, str | None]]
    phys: dict[int, tuple[bool, str]]  # index -> (is a link, physical path)
    procs: list[tuple[int, str, str]] | None  # (pid, statm line, comm line)
    size: int


def quote(text: str) -> str:
    """``text`` as one single-quoted shell word (no character is special inside)."""
    return "'" + text.replace("'", "'\\''") + "'"


class Framing:
    """The per-connection secrets: the record token and the path code."""

    def __init__(self, token: str | None = None, code_bits: int | None = None) -> None:
        self.token = token or secrets.token_hex(16)
        bits = secrets.randbits(64) if code_bits is None else code_bits
        self.code = "".join("./" if bits >> i & 1 else "/" for i in range(64))
        self.sep = b"\n" + self.token.encode() + b" "


def guest_path(root: str, rel: str) -> str:
    """The guest path of ``rel`` under guest directory ``root``."""
    return root.rstrip("/") + "/" + rel.lstrip("/")


def coded_path(framing: Framing, root: str, rel: str) -> str:
    """The same file as ``guest_path``, named with the connection's path code."""
    return root.rstrip("/") + "/" + framing.code + rel.lstrip("/")


# Shell functions defined once per connection (``$T`` is the token; ``$1`` an index, ``$2`` a path).
FUNCTIONS = r"""s(){ if [ -d "$2" ]; then x=d; elif [ ! -e "$2" ]; then x=m; elif [ ! -r "$2" ]; then x=p; else x=o; fi; printf '\n%s s %s %s' "$T" "$1" "$x"; }
e(){ if [ -e "$2" ]; then printf '\n%s e %s' "$T" "$1"; fi; }
d(){ if [ -d "$2" ]; then printf '\n%s d %s' "$T" "$1"; fi; }
l(){ if [ ! -d "$2" ]; then return 0; fi; if [ ! -r "$2" ] || [ ! -x "$2" ]; then printf '\n%s L %s' "$T" "$1"; return 0; fi; printf '\n%s l %s' "$T" "$1"; for f in "$2"/* "$2"/.*; do if [ -e "$f" ] || [ -L "$f" ]; then f=${f##*/}; if [ "$f" != . ] && [ "$f" != .. ]; then printf '\n%s n %s' "$T" "$f"; fi; fi; done; }
p(){ if [ -L "$2" ]; then k=L; else k=D; fi; if cd -P "$2" 2>&-; then printf '\n%s p %s %s ' "$T" "$1" "$k"; pwd -P; fi; cd /; }
P(){ printf '\n%s P\n' "$T"; for f in "$1"/[0-9]*; do if read -r m r x 2>&- <"$f/statm" && [ "$r" -ge "$2" ] 2>&-; then c=; read -r c 2>&- <"$f/comm"; printf '%s %s %s\n' "${f##*/}" "$r" "$c"; fi; done; }
"""


def prelude(framing: Framing) -> str:
    """Sent once when connecting: the token and the functions every batch calls."""
    return f"T={framing.token}\n{FUNCTIONS}"


def build_batch(framing: Framing, root: str, queries: Sequence[Query], seq: int,
                procs: bool = False, head: str = "head", procs_min_pages: int = 0) -> bytes:
    """The script of one tick: answers every query, then ``Z seq`` (``prelude()`` ran first)."""
    out = []
    reads = [(i, q) for i, q in enumerate(queries) if q.kind == "read"]
    coded = [(i, q) for i, q in reads if _SAFE_NAME.fullmatch(q.rel)]
    plain = [(i, q) for i, q in reads if not _SAFE_NAME.fullmatch(q.rel)]
    if coded:
        names = [quote(coded_path(framing, root, q.rel)) for _, q in coded]
        if len(names) == 1:  # head prints headers only for two files or more
            names.append(names[0])
        out.append(f"printf '\\n%s B\\n' \"$T\"; {head} -c {FILE_CAP + 1} {' '.join(names)} 2>&-; R=$?; "
                   f"printf '\\n%s H %s' \"$T\" \"$R\"\n")
        out.append("if [ \"$R\" != 0 ]; then " + "; ".join(
            f"s {i} {quote(guest_path(root, q.rel))}" for i, q in coded) + "; fi\n")
    for i, q in plain:  # names head would quote in its header: one head each, framed by markers
        path = quote(guest_path(root, q.rel))
        out.append(f"printf '\\n%s C {i}\\n' \"$T\"; {head} -c {FILE_CAP + 1} {path} 2>&-; R=$?; "
                   f"printf '\\n%s c {i} %s' \"$T\" \"$R\"; if [ \"$R\" != 0 ]; then s {i} {path}; fi\n")
    letters = {"exists": "e", "isdir": "d", "list": "l", "phys": "p"}
    calls = [f"{letters[q.kind]} {i} {quote(guest_path(root, q.rel))}" for i, q in enumerate(queries) if q.kind in letters]
    if calls:
        out.append("\n".join(calls) + "\n")
    if procs:
        # only processes with at least procs_min_pages resident pages (a builtin test):
        # the caller asks for half its last shown row's size, so the list stays short
        out.append(f"P {quote(guest_path(root, 'proc'))} {max(0, int(procs_min_pages))}\n")
    out.append(f"printf '\\n%s Z {seq}\\n' \"$T\"\n")
    return "".join(out).encode()


def end_marker(framing: Framing, seq: int) -> bytes:
    return framing.sep + f"Z {seq}\n".encode()


_STATUS = {"d": "not-a-file", "m": "missing", "p": "permission", "o": "error"}


def _index(text: bytes, count: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise FramingError(f"bad index {text[:20]!r}") from None
    if not 0 <= value < count:
        raise FramingError(f"index {value} out of range")
    return value


def parse_batch(framing: Framing, root: str, queries: Sequence[Query], seq: int, data: bytes,
                procs: bool = False) -> Reply:
    """The answer to ``build_batch``; ``FramingError`` when it does not parse exactly."""
    if len(data) > TICK_CAP + 65536:
        raise FramingError(f"answer of {len(data)} bytes is over the {TICK_CAP >> 20} MiB cap")
    parts = data.split(framing.sep)
    if parts[0] != b"":
        raise FramingError(f"{len(parts[0])} unexpected bytes before the first marker")
    if parts[-1] != f"Z {seq}\n".encode():
        raise FramingError("the answer does not end with its end marker")
    reply = Reply({}, set(), set(), {}, {}, [] if procs else None, len(data))
    count = len(queries)
    statuses: dict[int, str] = {}
    bodies: dict[int, bytes] = {}
    listing: list[str] | None = None
    for part in parts[1:-1]:
        kind, _, rest = part.partition(b" ")
        if kind == b"B\n" or part.startswith(b"B\n"):
            _parse_head(framing, root, queries, part[2:], reply)
        elif kind == b"H":
            _int(rest)
        elif kind == b"C":
            index_text, _, body = rest.partition(b"\n")
            bodies[_index(index_text, count)] = body
        elif kind == b"c":
            index_text, _, rc = rest.partition(b" ")
            index = _index(index_text, count)
            if index not in bodies:
                raise FramingError("a file's end without its start")
            if _int(rc) == 0:
                _store(reply, index, bodies[index])
        elif kind == b"s":
            index_text, _, code = rest.partition(b" ")
            statuses[_index(index_text, count)] = code.decode("ascii", "replace")
        elif kind == b"e":
            reply.exists.add(_index(rest, count))
        elif kind == b"d":
            reply.dirs.add(_index(rest, count))
        elif kind in (b"l", b"L"):
            listing = [] if kind == b"l" else None
            reply.lists[_index(rest, count)] = (listing, None if kind == b"l" else "permission")
        elif kind == b"n":
            if listing is None:
                raise FramingError("a directory entry outside a listing")
            listing.append(rest.decode("utf-8", "surrogateescape"))
        elif kind == b"p":
            index_text, _, body = rest.partition(b" ")
            link, _, path = body.partition(b" ")
            if link not in (b"L", b"D") or not path.endswith(b"\n"):
                raise FramingError("bad physical path record")
            reply.phys[_index(index_text, count)] = (link == b"L", path[:-1].decode("utf-8", "surrogateescape"))
        elif part.startswith(b"P\n") and reply.procs is not None:
            for line in part[2:].split(b"\n"):  # "pid resident-pages comm": read -r gives one line each
                pid, _, rest_of_line = line.partition(b" ")
                pages, _, comm = rest_of_line.partition(b" ")
                if pid.isdigit():
                    reply.procs.append((int(pid), pages.decode("ascii", "replace"), comm.decode("utf-8", "replace")))
        else:
            raise FramingError(f"unknown record {kind[:10]!r}")
    for listed in reply.lists.values():
        if listed[0] is not None:
            listed[0].sort()
    for i, query in enumerate(queries):
        if query.kind != "read":
            continue
        status = statuses.get(i)
        if status == "d" or (i not in reply.files and status is not None):
            reply.files[i] = FileResult(None, _STATUS.get(status or "", "error"))
        elif i not in reply.files:
            raise FramingError(f"no answer for {query.rel}")
    return reply


def _int(text: bytes) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise FramingError(f"bad number {text[:20]!r}") from None


def _store(reply: Reply, index: int, body: bytes) -> None:
    if len(body) > FILE_CAP:
        reply.files[index] = FileResult(None, "too-large")
    else:
        reply.files[index] = FileResult(body, None)


def _parse_head(framing: Framing, root: str, queries: Sequence[Query], block: bytes, reply: Reply) -> None:
    """Cut ``head``'s output at the coded headers, in the order the files were given."""
    coded = [(i, q) for i, q in enumerate(queries) if q.kind == "read" and _SAFE_NAME.fullmatch(q.rel)]
    headers = [(i, b"==> " + coded_path(framing, root, q.rel).encode() + b" <==\n") for i, q in coded]
    if len(headers) == 1:
        headers.append((-1, headers[0][1]))
    position = 0
    previous: int | None = None
    for index, header in headers:
        found = block.find(header, position)
        if found < 0:
            continue
        if previous is None:
            # busybox head writes the separator before every header but the first file's,
            # even when that file could not be opened; GNU head only after a printed file
            if block[:found] not in (b"", b"\n"):
                raise FramingError("bytes before head's first header")
        else:
            if found == position or block[found - 1:found] != b"\n":
                raise FramingError("a header not preceded by head's separator")
            _store(reply, previous, block[position:found - 1])
        previous = index
        position = found + len(header)
    if previous is None:
        if block:
            raise FramingError("head's output has no header")
    elif previous >= 0:
        _store(reply, previous, block[position:])


def parse_procs(rows: list[tuple[int, str, str]], page_size: int) -> list[tuple[int, int, str]]:
    """(pid, resident KiB, command) from ``statm``'s resident pages and ``comm``."""
    return [(pid, int(pages) * page_size // 1024, comm) for pid, pages, comm in rows if pages.isdigit()]
