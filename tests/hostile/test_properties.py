"""Property tests: the root reader over generated trees (links, FIFOs, huge files, text links)
and the recording reader over generated, mutated and damaged recordings. Neither ever raises,
hangs or returns anything from outside the root; every value it hands on is finite and bounded."""

from __future__ import annotations

import gzip
import json
import math
import os
import signal
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from balloontop import rootfs
from balloontop.commands.report import summarise
from balloontop.recording import read_recording
from balloontop.rootfs import Root
from balloontop.strictjson import dumps

from .conftest import BASE

SECRET = "SECRET-OUTSIDE-THE-ROOT"
NAMES = st.sampled_from(["a", "b", "c", "proc", "meminfo", "outside", "..", ".", "x y"])
KINDS = st.sampled_from(["file", "dir", "link", "textlink", "fifo", "big", "abslink"])


class Watchdog:
    """Fail instead of hanging: SIGALRM after ``seconds``."""

    def __init__(self, seconds: int) -> None:
        self.seconds = seconds

    def __enter__(self) -> None:
        def expire(signum: int, frame: object) -> None:
            raise TimeoutError("the reader blocked")

        self.old = signal.signal(signal.SIGALRM, expire)
        signal.alarm(self.seconds)

    def __exit__(self, *exc: object) -> None:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, self.old)


def build(base: Path, entries: list[tuple[list[str], str, list[str]]]) -> Path:
    outside = base / "outside"
    outside.mkdir()
    (outside / "meminfo").write_text(SECRET)
    (outside / "a").mkdir()
    (outside / "a" / "b").write_text(SECRET)
    root = base / "root"
    root.mkdir()
    for path, kind, target in entries:
        names = [n for n in path if n not in ("..", ".")]
        if not names:
            continue
        where = root.joinpath(*names)
        try:
            where.parent.mkdir(parents=True, exist_ok=True)
            if where.exists() or where.is_symlink():
                continue
            if kind == "file":
                where.write_text("inside " + "/".join(names))
            elif kind == "dir":
                where.mkdir()
            elif kind == "fifo":
                os.mkfifo(where)
            elif kind == "big":
                where.write_bytes(b"z" * (rootfs.MAX_FILE_BYTES + 10))
            elif kind == "link":
                os.symlink("/".join(target) or ".", where)
            elif kind == "abslink":
                os.symlink(str(outside) + "/" + "/".join(target), where)
            elif kind == "textlink":
                where.write_text("../" * (len(target) + 1) + "/".join(target or ["a"]))
        except (OSError, ValueError):
            continue  # a parent is a file or a link: that entry cannot exist
    return root


TREES = st.lists(st.tuples(st.lists(NAMES, min_size=1, max_size=3), KINDS, st.lists(NAMES, max_size=4)),
                 max_size=12)
PATHS = st.lists(st.lists(NAMES, max_size=5).map("/".join), min_size=1, max_size=8)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TREES, PATHS)
def test_root_reader_never_raises_blocks_or_leaves_the_root(entries, paths) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Root(str(build(Path(tmp), entries)))
        with Watchdog(10):
            for rel in paths + ["meminfo", "a/b", "proc/meminfo"]:
                text, error = root.read_text(rel)
                assert (text is None) != (error is None) or (error is not None and error.reason == "cut")
                if text is not None:
                    assert SECRET not in text
                    assert len(text) <= rootfs.MAX_FILE_BYTES
                for name in root.listdir(rel):
                    assert isinstance(name, str)
                real = root.real_rel(rel)
                assert real is None or real.startswith("/")
                root.readlink(rel)
                assert root.is_dir(rel) in (True, False) and root.exists(rel) in (True, False)
        # every cut file was said
        cut = [w for w in root.take_warnings() if "only the first 1 MiB read" in w]
        assert len(cut) <= len(paths) + 3


def _real_lines() -> list[str]:
    from balloontop.recording import Recorder
    from balloontop.sampler import Sampler

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "r.jsonl")
        clock = iter(range(1_750_000_000, 1_750_000_100))
        sampler = Sampler(str(BASE), clock=lambda: float(next(clock)))
        with Recorder(path, 1.0) as rec:
            for _ in range(3):
                rec.write_sample(sampler.sample())
        return Path(path).read_text().splitlines()


LINES = _real_lines()
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
PATHS_IN_SAMPLE = st.sampled_from([
    ("time",), ("balloon", "kib"), ("system", "uptime_s"), ("system", "page_size"), ("meminfo", "MemTotal"),
    ("vmstat", "balloon_inflate"), ("system", "hostname"), ("drivers",), ("virtio_devices",), ("system",),
    ("balloon",), ("warnings",),
])


def _mutate(line: str, where: tuple[str, ...], value: object) -> str:
    obj = json.loads(line)
    target = obj
    for part in where[:-1]:
        target = target.setdefault(part, {}) if isinstance(target, dict) else {}
    if isinstance(target, dict):
        target[where[-1]] = value
    return json.dumps(obj)  # may write Infinity: a float from the strategy can be infinite


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.tuples(PATHS_IN_SAMPLE, JSON_VALUES), max_size=6),
    st.lists(st.binary(max_size=40), max_size=3),
    st.booleans(),
    st.integers(min_value=0, max_value=4000),
)
def test_recording_reader_keeps_only_sane_samples(mutations, garbage, zipped, cut) -> None:
    header, *samples = LINES
    body = [header]
    for i, (where, value) in enumerate(mutations):
        body.append(_mutate(samples[i % len(samples)], where, value))
    body += samples
    data = ("\n".join(body) + "\n").encode() + b"\n".join(garbage)
    if zipped:
        data = gzip.compress(data)
        data = data[: max(len(data) - cut, 0)]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "r.jsonl.gz" if zipped else "r.jsonl")
        Path(path).write_bytes(data)
        rec = read_recording(path)
    for sample in rec.samples:
        assert math.isfinite(sample.time)
        assert sample.balloon.kib is None or 0 <= sample.balloon.kib < 1 << 54
        assert sample.system.uptime_s is None or math.isfinite(sample.system.uptime_s)
        assert all(isinstance(v, int) and 0 <= v < 1 << 64 for v in sample.meminfo.values())
    assert rec.skipped_count >= len(rec.skipped)
    summary = summarise(rec)
    dumps(summary)  # strict JSON: raises on NaN or Infinity
    if not zipped:
        assert len(rec.samples) >= len(samples)  # the valid lines all count
