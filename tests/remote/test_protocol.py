"""One batch against real shells and heads (the system sh with GNU head, busybox sh with its
own head): every kind of answer, files missing anywhere in the batch, empty files,
directories, files without a final newline, names head would quote."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from balloontop.remote.protocol import FILE_CAP, Framing, FramingError, Query, build_batch, parse_batch, prelude

from .conftest import missing

SHELLS = ["sh", "busybox sh"]


def _run(shell: str, script: bytes) -> bytes:
    if shell.startswith("busybox") and not shutil.which("busybox"):
        missing("busybox is not installed")
    return subprocess.run(shell.split(), input=script, capture_output=True, timeout=30, check=True).stdout


def _tree(tmp_path: Path) -> Path:
    (tmp_path / "d").mkdir()
    (tmp_path / "full").write_bytes(b"one\ntwo\n")
    (tmp_path / "nonl").write_bytes(b"no newline")
    (tmp_path / "empty").write_bytes(b"")
    (tmp_path / "odd name 'q'").write_bytes(b"quoted\n")
    (tmp_path / "d" / ".hidden").write_bytes(b"")
    (tmp_path / "d" / "x y").write_bytes(b"")
    (tmp_path / "link").symlink_to("d")
    return tmp_path


QUERIES = [Query("read", "absent1"), Query("read", "full"), Query("read", "absent2"), Query("read", "empty"),
           Query("read", "d"), Query("read", "nonl"), Query("read", "odd name 'q'"), Query("read", "absent3"),
           Query("exists", "full"), Query("exists", "absent1"), Query("isdir", "d"), Query("isdir", "full"),
           Query("list", "d"), Query("list", "absent1"), Query("phys", "link"), Query("phys", "d")]


@pytest.mark.parametrize("shell", SHELLS)
def test_every_answer_kind(shell: str, tmp_path: Path) -> None:
    root = str(_tree(tmp_path))
    framing = Framing()
    script = prelude(framing).encode() + build_batch(framing, root, QUERIES, 1)
    reply = parse_batch(framing, root, QUERIES, 1, _run(shell, script))
    files = {QUERIES[i].rel: r for i, r in reply.files.items()}
    assert files["full"].data == b"one\ntwo\n" and files["nonl"].data == b"no newline"
    assert files["empty"].data == b"" and files["odd name 'q'"].data == b"quoted\n"
    assert [files[n].reason for n in ("absent1", "absent2", "absent3", "d")] == ["missing"] * 3 + ["not-a-file"]
    assert reply.exists == {8} and reply.dirs == {10}
    assert reply.lists == {12: ([".hidden", "x y"], None)}
    real = str(Path(root).resolve())
    assert reply.phys == {14: (True, f"{real}/d"), 15: (False, f"{real}/d")}


@pytest.mark.parametrize("shell", SHELLS)
def test_a_file_over_the_cap_is_too_large(shell: str, tmp_path: Path) -> None:
    (tmp_path / "big").write_bytes(b"z" * (FILE_CAP + 1))
    (tmp_path / "small").write_bytes(b"s")
    queries = [Query("read", "big"), Query("read", "small")]
    framing = Framing()
    reply = parse_batch(framing, str(tmp_path), queries, 7,
                        _run(shell, prelude(framing).encode() + build_batch(framing, str(tmp_path), queries, 7)))
    assert reply.files[0].reason == "too-large" and reply.files[1].data == b"s"


def test_answers_that_break_the_framing_are_refused(tmp_path: Path) -> None:
    root = str(_tree(tmp_path))
    framing = Framing()
    queries = [Query("read", "full"), Query("read", "nonl")]
    good = _run("sh", prelude(framing).encode() + build_batch(framing, root, queries, 3))
    assert parse_batch(framing, root, queries, 3, good).files[0].data == b"one\ntwo\n"
    for bad, why in ((b"junk" + good, "before the first marker"),
                     (good.replace(b"==> ", b"=#> "), "no header"),
                     (good[:-5], "end marker"),
                     (good.replace(framing.sep + b"Z 3", framing.sep + b"Z 4"), "end marker"),
                     (good.replace(framing.sep + b"H", framing.sep + b"Q"), "unknown record")):
        with pytest.raises(FramingError, match=why):
            parse_batch(framing, root, queries, 3, bad)
    other = Framing()  # a frame with another connection's token is content, not a frame
    assert other.token != framing.token and other.code != framing.code
