"""Pilot tests for the load-test toolkit and kernel log in the monitor (issues 5 and 7):
demo, markers, --record, replay (pause, step, seek), the kernel log and its view."""

from __future__ import annotations

import shutil
from pathlib import Path

from .conftest import CAPTURES, FIXED_TIME, FIXTURES, FakeClock, StaticSource, StepSource
from .test_pilot import _ready, run

STEPS = ["1024M", "0768M", "0512M", "1024M-again"]
STEP_S = 10.0


def _kmsg_root(tmp_path: Path) -> Path:
    """A capture root with the 6.18 OOM kill's kernel log as its ``dev/kmsg`` file."""
    root = tmp_path / "0512M"
    shutil.copytree(CAPTURES / "virtio-6.18-nodeflate" / "0512M", root, symlinks=True)
    (root / "dev").mkdir(exist_ok=True)
    shutil.copy(FIXTURES / "kmsg" / "6.18-oom-kill" / "kmsg.txt", root / "dev" / "kmsg")
    return root


def _kmsg_app(root: Path, **kwargs):
    from balloontop.tui.app import make_app

    clock = FakeClock()
    return make_app(root=str(root), clock=clock, source=StepSource(root, clock),
                    process_source=None, hostname="guest-1", uptime=100.0,
                    source_label=" · kmsg", ascii_only=False, **kwargs)


def _events(app, kind: str):
    from balloontop.model import Event

    return [e for e in app.event_log if isinstance(e, Event) and e.kind == kind]


def _log_text(app) -> str:
    return "\n".join(line.text for line in app.query_one("#events").lines)


def _make_recording(path: Path) -> tuple[list, list]:
    """A recording of the virtio 6.1 capture steps, 10 s apart, with its detected events and
    a marker between the third and the fourth sample."""
    from balloontop.events import EventDetector, marker
    from balloontop.recording import Recorder
    from balloontop.sampler import Sampler

    detector = EventDetector()
    samples, events = [], []
    with Recorder(str(path), STEP_S) as rec:
        for i, step in enumerate(STEPS):
            t = FIXED_TIME + i * STEP_S
            sample = Sampler(str(CAPTURES / "virtio-6.1-nodeflate" / step), clock=lambda t=t: t).sample()
            rec.write_sample(sample)
            samples.append(sample)
            new = detector.feed(sample)
            if i == 2:
                new.append(marker(t + 5, "load test phase 2 starts"))
            for event in new:
                rec.write_event(event)
            events.extend(new)
        for event in detector.close():
            rec.write_event(event)
            events.append(event)
    return samples, events


def test_kernel_log_oom_kill_in_event_log_and_k_view(tmp_path):
    async def go():
        from balloontop.tui.screens import KernelLogScreen

        app = _kmsg_app(_kmsg_root(tmp_path))
        async with app.run_test(size=(120, 40)) as pilot:
            await _ready(pilot, app)
            for _ in range(100):  # the first poll's events reach the log with its sample
                if _events(app, "oom_kill"):
                    break
                await pilot.pause(0.05)
            kills = _events(app, "oom_kill")
            assert len(kills) == 1
            assert "hog" in kills[0].message and "the balloon held 512 MiB" in kills[0].message
            assert "OOM kill: hog" in _log_text(app)
            await pilot.press("k")
            for _ in range(100):
                if isinstance(app.screen, KernelLogScreen) and app.screen.query("#kmsg-text"):
                    break
                await pilot.pause(0.05)
            screen = app.screen
            assert isinstance(screen, KernelLogScreen)
            tags = {tag for _, tag in screen.rows}
            assert "oom" in tags and "show_mem" in tags
            text = str(screen.query_one("#kmsg-text").render())
            assert "hog invoked oom-killer" in text and "Balloon:524288kB" in text
            await pilot.press("h")  # highlighted records only
            assert "Balloon:524288kB" in str(screen.query_one("#kmsg-text").render())
            await pilot.press("escape")
            await pilot.pause()
            assert not isinstance(app.screen, KernelLogScreen)
            # later polls re-read the file but add no second OOM kill
            await _ready(pilot, app, ticks=3)
            assert len(_events(app, "oom_kill")) == 1
    run(go())


def test_vmstat_and_kernel_log_oom_kill_merge_into_one_line():
    async def go():
        from types import MappingProxyType

        from balloontop.model import Event

        from .conftest import build_app

        app = build_app("618-nodeflate-0512M")
        async with app.run_test(size=(120, 40)) as pilot:
            await _ready(pilot, app)
            vm = Event(time=FIXED_TIME + 1, kind="oom_kill", message="OOM kill (vmstat oom_kill +1)")
            kern = Event(time=FIXED_TIME, kind="oom_kill",
                         message="OOM kill: hog (pid 385, 372.4 MiB resident); the balloon held 512.0 MiB",
                         details=MappingProxyType({"uptime_s": 19.55}))
            app._add_events([vm])
            app._add_events([kern])
            assert _events(app, "oom_kill") == [kern]
            text = _log_text(app)
            assert text.count("oom_kill") == 1 and "hog" in text
            # the other order: the log's report first, then vmstat's rise
            kern2 = Event(time=FIXED_TIME + 500, kind="oom_kill", message="OOM kill: second",
                          details=MappingProxyType({"uptime_s": 600.0}))
            vm2 = Event(time=FIXED_TIME + 501, kind="oom_kill", message="vmstat again")
            app._add_events([kern2])
            app._add_events([vm2])
            assert _events(app, "oom_kill") == [kern, kern2]
    run(go())


def test_no_permission_warned_once_and_monitor_carries_on(tmp_path, monkeypatch):
    async def go():
        from balloontop.kmsg import reader

        def denied(self):
            self._give_up("kernel log: /dev/kmsg: permission denied (test)")
            return []

        monkeypatch.setattr(reader.KmsgReader, "_read_file", denied)
        app = _kmsg_app(_kmsg_root(tmp_path))
        notes = []
        app.notify = lambda message, **kw: notes.append(message)
        async with app.run_test(size=(120, 40)) as pilot:
            await _ready(pilot, app, ticks=3)
            assert [n for n in notes if "permission denied" in n] == [
                "kernel log: /dev/kmsg: permission denied (test)"]
            assert app.panes() and not _events(app, "oom_kill")
    run(go())


def test_kernel_log_starts_in_the_poll_thread_after_the_first_frame(tmp_path, monkeypatch):
    """The first frame does not wait for the kernel log: it is opened by the poll thread,
    after the first paint, and the first sample (read on the UI thread) still reaches it."""
    import threading

    from balloontop import kmsg

    opened = []
    real = kmsg.KernelLog

    class Recorded(real):
        def __init__(self, *args, **kwargs):
            opened.append((threading.current_thread() is threading.main_thread(),
                           app.poller.first_paint.is_set(), app.tick_count))
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(kmsg, "KernelLog", Recorded)
    app = _kmsg_app(_kmsg_root(tmp_path))

    async def go():
        async with app.run_test(size=(120, 40)) as pilot:
            await _ready(pilot, app, ticks=2)
            assert opened == [(False, True, 1)]  # once, off the UI thread, after the first frame
            assert app.monitor._kernel_backlog == [] and app.oom_inference is not None
            assert _events(app, "oom_kill")  # the recorded OOM report, read from the log's start
    run(go())


def test_marker_key_adds_marker_to_log_and_recording(tmp_path):
    async def go():
        from balloontop.recording import Recorder, read_recording
        from balloontop.tui.screens import MarkerScreen

        path = tmp_path / "rec.jsonl"
        recorder = Recorder(str(path), 1.0)
        app = _kmsg_app(_kmsg_root(tmp_path), recorder=recorder)
        async with app.run_test(size=(120, 40)) as pilot:
            await _ready(pilot, app, ticks=2)
            await pilot.press("m")
            await pilot.pause()
            assert isinstance(app.screen, MarkerScreen)
            for ch in "phase 2":
                await pilot.press("space" if ch == " " else ch)
            await pilot.press("enter")
            await pilot.pause()
            assert not isinstance(app.screen, MarkerScreen)
            markers = _events(app, "marker")
            assert [m.message for m in markers] == ["phase 2"]
            assert "phase 2" in _log_text(app)
            # escape cancels: no marker
            await pilot.press("m")
            await pilot.pause()
            await pilot.press("escape")
            assert len(_events(app, "marker")) == 1
        recorder.close()
        rec = read_recording(str(path))
        kinds = [e.kind for e in rec.events]
        assert "marker" in kinds and "oom_kill" in kinds  # kernel-log events recorded too
        assert [e.message for e in rec.events if e.kind == "marker"] == ["phase 2"]
        assert len(rec.samples) >= 2
    run(go())


def test_replay_pause_step_seek_and_recorded_events(tmp_path):
    async def go():
        from balloontop.replay import ReplaySource
        from balloontop.tui.app import make_app

        path = tmp_path / "steps.jsonl"
        samples, events = _make_recording(path)
        assert any(e.kind == "marker" for e in events) and any(e.kind == "inflate" for e in events)
        wall = FakeClock(start=1000.0)
        source = ReplaySource(str(path), speed=1.0, clock=wall)
        app = make_app(source=source, interval=1.0, process_source=None, hostname="rec-host",
                       clock=FakeClock(), source_label=" · replay steps.jsonl", ascii_only=False)
        assert app.replay and not app.monitor.reads_kernel_log
        async with app.run_test(size=(120, 40)) as pilot:
            await _ready(pilot, app)
            title = app.query_one("#title").markup_text
            assert "REPLAY" in title and "00:00/00:30" in title and "LIVE" not in title
            wall.now += 40  # the whole recording comes due
            for _ in range(100):
                if app.last_sample is not None and app.last_sample.time == samples[-1].time:
                    break
                await pilot.pause(0.05)
            assert app.last_sample.time == samples[-1].time
            await pilot.pause(0.1)
            shown = [e for e in app.event_log if not isinstance(e, str)]
            assert shown == sorted(events, key=lambda e: e.time)  # as recorded, not re-detected
            assert "load test phase 2 starts" in _log_text(app)
            assert "00:30/00:30 end" in app.query_one("#title").markup_text
            # pause, seek back a tenth (3 s: to 27 s, so the samples up to 20 s)
            await pilot.press("space")
            assert app.paused and source.paused
            assert "PAUSED" in app.query_one("#title").markup_text
            await pilot.press("left_square_bracket")
            for _ in range(100):
                if app.last_sample.time == samples[2].time and not app._polling:
                    break
                await pilot.pause(0.05)
            assert app.last_sample.time == samples[2].time
            shown = [e for e in app.event_log if not isinstance(e, str)]
            assert shown == [e for e in events if e.time <= samples[2].time]
            assert "load test phase 2 starts" not in _log_text(app)
            assert len(app.history.window(60, ["balloon_kib"], now=samples[2].time)[0]) == 3
            # step: exactly the next sample, with the marker recorded before it
            await pilot.press("full_stop")
            for _ in range(100):
                if app.last_sample.time == samples[3].time and not app._polling:
                    break
                await pilot.pause(0.05)
            assert app.last_sample.time == samples[3].time and app.paused
            assert "load test phase 2 starts" in _log_text(app)
            # seek forward and back again with n/[ keys at the ends stays within the recording
            await pilot.press("right_square_bracket")
            await pilot.pause(0.2)
            assert app.last_sample.time == samples[3].time
    run(go())


def test_replay_keys_hidden_in_live_monitor():
    async def go():
        from .conftest import build_app

        app = build_app("618-nodeflate-0512M")
        async with app.run_test(size=(120, 40)) as pilot:
            await _ready(pilot, app)
            before = app.last_sample
            await pilot.press("full_stop")
            await pilot.press("left_square_bracket")
            assert not app.paused
            assert app.check_action("seek", (-1,)) is False
            assert app.check_action("marker", ()) is True
            assert app.last_sample is not None and before is not None
    run(go())


def test_demo_source_in_monitor_header_and_close():
    async def go():
        from balloontop.demo import DemoSource
        from balloontop.tui.app import make_app

        clock = FakeClock()
        demo = DemoSource(None, clock=clock)
        try:
            app = make_app(source=demo, clock=clock, process_source=None,
                           source_label=f" · {demo.title}", ascii_only=False)
            assert not app.monitor.reads_kernel_log
            async with app.run_test(size=(120, 40)) as pilot:
                await _ready(pilot, app)
                assert demo.title in app.query_one("#title").markup_text
                assert app.panes()[0].key.startswith("virtio_balloon")
        finally:
            demo.close()
        assert not Path(demo.root).exists()
    run(go())


def test_help_lists_new_keys():
    async def go():
        from .conftest import build_app

        app = build_app("618-nodeflate-0512M")
        async with app.run_test(size=(120, 40)) as pilot:
            await _ready(pilot, app)
            await pilot.press("question_mark")
            await pilot.pause()
            body = str(app.screen.query_one("#help-body Static").render())
            for words in ("add a marker", "kernel log view", "replay: step one sample",
                          "seek back", "feature decoder"):
                assert words in body
    run(go())


def test_deflate_on_oom_inferred_in_the_event_log():
    """The 6.18 deflate-on-OOM timeline fed through the monitor's poll gives one "likely
    deflate-on-OOM" line (and the events title says so while it lasts)."""
    async def go():
        from tests.test_kmsg_inference import timeline_samples

        from .conftest import build_app

        app = build_app("618-nodeflate-0512M")
        async with app.run_test(size=(120, 40)) as pilot:
            await _ready(pilot, app)
            await pilot.press("space")  # no live polls meanwhile: the test drives the ticks
            for _ in range(100):
                if not app._polling:
                    break
                await pilot.pause(0.05)
            app.detector = type(app.detector)()  # the timeline starts a new guest
            app.monitor.oom_inference = None
            titles = set()
            samples = timeline_samples()
            last = samples[-1]
            from dataclasses import replace

            samples += [replace(last, time=last.time + 0.5 * (i + 1)) for i in range(6)]
            feed = iter(samples)
            app.monitor.source = type("Feed", (), {"kind": "capture", "sample": lambda self: next(feed),
                                                   "close": lambda self: None})()
            for _ in samples:
                result = app.poller.collect(app.monitor.tick())
                app._apply(result)
                titles.add(app.query_one("#events").border_title)
            doom = _events(app, "deflate_on_oom")
            assert len(doom) == 1 and "likely deflate-on-OOM" in doom[0].message
            assert "337 MiB" in doom[0].message
            assert not _events(app, "oom_kill")
            assert any("(likely deflate-on-OOM)" in t for t in titles)
    run(go())


class _StubApp:
    """Stands in for the monitor: records what the command built, exits at once."""

    def __init__(self, **kwargs) -> None:
        self.kwargs = kwargs
        self.return_code = 0

    def run(self):
        source = self.kwargs.get("source")
        if source is not None and hasattr(source, "root"):
            assert Path(source.root).is_dir()  # alive while the monitor runs
        return 0


def test_demo_command_closes_its_source(monkeypatch, tmp_path):
    import argparse
    import sys

    from balloontop.commands import monitor
    from balloontop.tui import app as app_module

    made = []
    monkeypatch.setattr(app_module, "make_app", lambda **kw: made.append(_StubApp(**kw)) or made[-1])
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    args = argparse.Namespace(monitor_root=None, monitor_interval=None, monitor_theme=None,
                              monitor_no_color=None, monitor_demo="xen",
                              monitor_record=str(tmp_path / "demo.jsonl"))
    assert monitor.run(args) == 0
    kwargs = made[0].kwargs
    source = kwargs["source"]
    assert source.title in kwargs["source_label"] and kwargs["recorder"] is not None
    assert not Path(source.root).exists()  # the demo's temporary tree is gone


def test_replay_command_builds_a_replay_monitor(monkeypatch, tmp_path):
    import argparse

    from balloontop.commands import replay
    from balloontop.tui import app as app_module

    path = tmp_path / "steps.jsonl"
    _make_recording(path)
    made = []
    monkeypatch.setattr(app_module, "make_app", lambda **kw: made.append(_StubApp(**kw)) or made[-1])
    assert replay.run(argparse.Namespace(file=str(path), speed=4.0)) == 0
    kwargs = made[0].kwargs
    assert type(kwargs["source"]).__name__ == "ReplaySource"
    assert kwargs["interval"] == STEP_S / 4 and "replay steps.jsonl" in kwargs["source_label"]


def test_recording_failure_is_told_once_and_the_monitor_carries_on(tmp_path):
    class FullDisk:
        path = str(tmp_path / "rec.jsonl")

        def write_sample(self, sample):
            raise OSError(28, "No space left on device")

        write_event = write_sample

        def close(self):
            pass

    async def go():
        app = _kmsg_app(_kmsg_root(tmp_path), recorder=FullDisk(), kernel_log=False)
        notes = []
        app.notify = lambda message, **kw: notes.append(message)
        async with app.run_test(size=(120, 40)) as pilot:
            await _ready(pilot, app, ticks=3)
            assert [n for n in notes if "failed" in n] == [
                f"recording to {FullDisk.path} failed: [Errno 28] No space left on device"]
            assert app.panes()
    run(go())


def test_ticks_while_the_help_is_shown_still_reach_the_monitor():
    """A modal screen on top (help) does not drop the ticks that arrive meanwhile: the
    figures and the inflate event are on the monitor's screen when the help closes."""
    from balloontop.sampler import Sampler
    from balloontop.tui.app import make_app
    from balloontop.tui.screens import HelpScreen

    from .conftest import CAPTURES

    clock = FakeClock()
    steps = iter([CAPTURES / "virtio-6.18-nodeflate" / "boot"] * 2)
    late = CAPTURES / "virtio-6.18-nodeflate" / "0512M"

    class Inflating(StaticSource):
        def sample(self):
            sample = Sampler(str(next(steps, late)), clock=clock).sample()
            clock.now += 1.0
            return sample

    app = make_app(root=str(late), interval=0.2, clock=clock, source=Inflating(), process_source=None,
                   hostname="guest-1", uptime=100.0, source_label=" · help", ascii_only=False,
                   kernel_log=False)

    async def go():
        async with app.run_test(size=(120, 40)) as pilot:
            await _ready(pilot, app)
            await pilot.press("question_mark")
            await pilot.pause()
            assert isinstance(app.screen, HelpScreen)
            for _ in range(200):
                if _events(app, "inflate"):
                    break
                await pilot.pause(0.05)
            assert isinstance(app.screen, HelpScreen)  # all of it happened under the help
            assert "512.0 MiB" in "\n".join(app._main("summary", object).texts)
            assert "inflate" in _log_text(app)
    run(go())


def test_a_reading_that_raises_is_a_notification_and_the_monitor_carries_on():
    from balloontop.sampler import Sampler
    from balloontop.tui.app import make_app

    from .conftest import CAPTURES

    clock = FakeClock()
    root = CAPTURES / "virtio-6.18-nodeflate" / "0512M"
    sampler = Sampler(str(root), clock=clock)
    calls = []

    class Flaky(StaticSource):
        def sample(self):
            calls.append(1)
            clock.now += 1.0
            if len(calls) == 2:
                raise OSError(5, "Input/output error")
            return sampler.sample()

    app = make_app(root=str(root), interval=0.2, clock=clock, source=Flaky(), process_source=None,
                   hostname="guest-1", uptime=100.0, source_label=" · flaky", ascii_only=False,
                   kernel_log=False)
    notes = []
    app.notify = lambda message, **kw: notes.append((kw.get("title"), message))

    async def go():
        async with app.run_test(size=(120, 40)) as pilot:
            for _ in range(200):
                if len(calls) >= 4 and app.tick_count >= 3:
                    break
                await pilot.pause(0.05)
            assert ("reading failed", "OSError: [Errno 5] Input/output error") in notes
            assert app.tick_count >= 3 and app.panes()  # the ticks after it were applied
    run(go())
