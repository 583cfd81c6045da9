#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Host side of the guest's PCI hot-plug requests, run by qemu-run.sh for the
lifetime of one QEMU boot.

Follows the serial console log as it grows and, for every marker line the
guest printed on its console (scripts/guest/tests/edu_common.inc:
host_unplug, host_plug), talks to QEMU over QMP:

    WL-HOTPLUG del ID                       device_del ID, then waits (up to
                                            --timeout s) for DEVICE_DELETED
    WL-HOTPLUG add ID DRIVER [KEY=VALUE...] device_add driver=DRIVER id=ID
                                            KEY=VALUE... (values as strings)

A marker may follow other text on its line (a kernel timestamp); anything
after it on the line is part of the marker. Commands for one ID run in the
order of their markers, and nothing runs for an ID while its deletion is
pending (a re-add waits for the DEVICE_DELETED, or for the timeout). Markers
inside the WL-KTAP and WL-DMESG blocks (replays of earlier output) and after
WL-DONE are ignored.

Everything it does goes to the side log (--log), one line each; the result of
every command is a line starting `done del ID`, `done add ID` or
`error del|add ID: ...`. It never writes to the serial log and never stops on
a malformed marker (ignored, logged). It exits when QEMU closes the socket.

    qmp-responder.py --socket SOCK --serial-log LOG --log SIDE_LOG
                     [--timeout SECONDS] [--connect-timeout SECONDS]
"""
import argparse
import collections
import json
import os
import re
import select
import signal
import socket
import sys
import time

MARKER_RE = re.compile(r"WL-HOTPLUG(?:[ \t]+(.*))?$")
# QEMU's rule for ids (id_wellformed): a letter, then letters, digits, - . _
ID_RE = re.compile(r"^[A-Za-z][A-Za-z0-9._-]*$")
DRIVER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
KEY_RE = re.compile(r"^[A-Za-z][A-Za-z0-9._-]*$")
# No brackets or spaces: a kernel line that landed inside a marker makes it
# malformed instead of passing a wrong value.
VALUE_RE = re.compile(r"^[A-Za-z0-9._:/+,@-]*$")
# Replays of earlier output: markers there were already handled.
BLOCKS = {"WL-KTAP-BEGIN": "WL-KTAP-END", "WL-DMESG-BEGIN": "WL-DMESG-END"}
MAX_LINE = 64 * 1024
POLL = 0.1


def splat_re():
    """ktap.py's splat patterns (the side log never carries them, in case it
    is ever read like a console log)."""
    here = os.path.dirname(os.path.abspath(__file__))
    sys.dont_write_bytecode = True  # no __pycache__ in scripts/
    sys.path.insert(0, here)
    try:
        import ktap  # pylint: disable=import-outside-toplevel  (its main() is guarded)
        return ktap.SPLAT_RE
    except Exception:  # pylint: disable=broad-except
        return re.compile(r"BUG:|WARNING:|Oops|Call Trace:|panic|UBSAN|INFO:|stall|LOCKUP|lockup")
    finally:
        sys.path.remove(here)


def defang(text, pattern):
    """Breaks up every match of pattern (lower case, no colons or spaces)."""
    text = pattern.sub(lambda m: m.group(0).lower().replace(":", " -").replace(" ", "_"), text)
    return pattern.sub("[filtered]", text)


class SideLog:
    def __init__(self, path):
        self.f = open(path, "a", encoding="utf-8", errors="replace", buffering=1)
        self.t0 = time.monotonic()
        self.splat = splat_re()

    def write(self, text):
        # One line per entry, no splat words (a QEMU error message or a
        # guest-chosen id is quoted here).
        text = defang(" ".join(str(text).split()), self.splat)
        self.f.write(f"{text} (t={time.monotonic() - self.t0:.3f}s)\n")


class QmpError(Exception):
    pass


class Qmp:
    """A minimal QMP client: newline-delimited JSON, commands tagged with an
    id, events queued for the caller."""

    def __init__(self, path, log, connect_timeout):
        self.log = log
        self.buf = b""
        self.events = []
        self.next_id = 0
        deadline = time.monotonic() + connect_timeout
        waited = False
        while True:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(path)
                break
            except OSError as e:
                s.close()
                if time.monotonic() > deadline:
                    raise QmpError(f"no QMP socket at {path} after {connect_timeout}s: {e}") from e
                if not waited:
                    log.write(f"info waiting for the QMP socket {path}")
                    waited = True
                time.sleep(POLL)
        self.sock = s
        greeting = self.read_message(10)
        if "QMP" not in greeting:
            raise QmpError(f"unexpected QMP greeting: {greeting}")
        self.command("qmp_capabilities")
        ver = greeting["QMP"].get("version", {}).get("qemu", {})
        log.write("info QMP connected (QEMU %s.%s.%s)" % (ver.get("major"), ver.get("minor"), ver.get("micro")))

    def fileno(self):
        return self.sock.fileno()

    def pump(self, timeout):
        """Reads what is there (waiting up to timeout); False at EOF."""
        r, _, _ = select.select([self.sock], [], [], timeout)
        if not r:
            return True
        data = self.sock.recv(65536)
        if not data:
            return False
        self.buf += data
        return True

    def read_message(self, timeout):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise QmpError("no answer from QEMU")
            if not self.pump(left):
                raise EOFError
        line, self.buf = self.buf.split(b"\n", 1)
        try:
            return json.loads(line.decode("utf-8", errors="replace"))
        except ValueError:
            self.log.write(f"error unparsable QMP message: {line[:200]!r}")
            return {}

    def take_messages(self):
        """Queues the events among the complete messages already read."""
        while b"\n" in self.buf:
            msg = self.read_message(0)
            if "event" in msg:
                self.events.append(msg)

    def command(self, name, arguments=None, timeout=10):
        """Runs one command; returns its result or raises QmpError."""
        self.next_id += 1
        tag = f"wl-{self.next_id}"
        cmd = {"execute": name, "id": tag}
        if arguments is not None:
            cmd["arguments"] = arguments
        self.sock.sendall(json.dumps(cmd).encode() + b"\n")
        while True:
            msg = self.read_message(timeout)
            if "event" in msg:
                self.events.append(msg)
            elif msg.get("id") == tag:
                if "error" in msg:
                    err = msg["error"]
                    raise QmpError(f"{err.get('class')}: {err.get('desc')}")
                return msg.get("return")


def parse_marker(rest):
    """Returns ("del", id, None, None) or ("add", id, driver, props), or a
    string saying why the marker is malformed."""
    words = (rest or "").split()
    if not words:
        return "no command"
    op, args = words[0], words[1:]
    if op == "del":
        if len(args) != 1:
            return "del takes exactly one id"
        if not ID_RE.match(args[0]):
            return f"bad id '{args[0]}'"
        return ("del", args[0], None, None)
    if op == "add":
        if len(args) < 2:
            return "add needs an id and a driver"
        dev_id, driver = args[0], args[1]
        if not ID_RE.match(dev_id):
            return f"bad id '{dev_id}'"
        if not DRIVER_RE.match(driver):
            return f"bad driver '{driver}'"
        props = {}
        for kv in args[2:]:
            key, eq, value = kv.partition("=")
            if not eq or not KEY_RE.match(key) or not VALUE_RE.match(value):
                return f"bad property '{kv}'"
            if key in ("id", "driver") or key in props:
                return f"property '{key}' is set twice"
            props[key] = value
        return ("add", dev_id, driver, props)
    return f"unknown command '{op}'"


class Responder:
    def __init__(self, qmp, log, timeout):
        self.qmp = qmp
        self.log = log
        self.timeout = timeout
        # id -> (deadline, start) of a device_del waiting for DEVICE_DELETED
        self.pending = {}
        # id -> commands waiting for that deletion
        self.queued = collections.defaultdict(collections.deque)

    def submit(self, cmd):
        dev_id = cmd[1]
        if dev_id in self.pending or self.queued[dev_id]:
            self.log.write(f"info {cmd[0]} {dev_id} waits for the pending deletion of {dev_id}")
            self.queued[dev_id].append(cmd)
            return
        self.run(cmd)

    def run(self, cmd):
        op, dev_id, driver, props = cmd
        if op == "del":
            try:
                self.qmp.command("device_del", {"id": dev_id})
            except QmpError as e:
                self.log.write(f"error del {dev_id}: device_del failed: {e}")
                return
            now = time.monotonic()
            self.pending[dev_id] = (now + self.timeout, now)
            self.log.write(f"info device_del {dev_id} issued, waiting for DEVICE_DELETED")
        else:
            args = {"driver": driver, "id": dev_id}
            args.update(props)
            try:
                self.qmp.command("device_add", args)
            except QmpError as e:
                self.log.write(f"error add {dev_id}: device_add {json.dumps(args)} failed: {e}")
                return
            self.log.write(f"done add {dev_id}: device_add {json.dumps(args)}")

    def drain(self, dev_id):
        """Runs the commands that waited for dev_id's deletion."""
        q = self.queued[dev_id]
        while q and dev_id not in self.pending:
            self.run(q.popleft())
        if not q:
            del self.queued[dev_id]

    def events(self):
        while self.qmp.events:
            ev = self.qmp.events.pop(0)
            name = ev.get("event")
            data = ev.get("data", {})
            if name == "DEVICE_DELETED":
                dev_id = data.get("device") or ""
                path = data.get("path", "")
                if not dev_id and path.startswith("/machine/peripheral/"):
                    dev_id = path.rsplit("/", 1)[1]
                if dev_id in self.pending:
                    _, start = self.pending.pop(dev_id)
                    self.log.write(f"done del {dev_id}: DEVICE_DELETED after {time.monotonic() - start:.2f}s")
                    self.drain(dev_id)
                elif dev_id:
                    self.log.write(f"info DEVICE_DELETED {dev_id} (no deletion pending)")
            elif name not in ("RTC_CHANGE",):
                self.log.write(f"info event {name} {json.dumps(data)}")

    def expire(self):
        now = time.monotonic()
        for dev_id, (deadline, start) in list(self.pending.items()):
            if now >= deadline:
                del self.pending[dev_id]
                self.log.write(f"error del {dev_id}: no DEVICE_DELETED within {now - start:.1f}s "
                               "(did the guest eject the device?)")
                self.drain(dev_id)

    def abandon(self, why):
        for dev_id in list(self.pending):
            self.log.write(f"error del {dev_id}: no DEVICE_DELETED, {why}")
        for dev_id, q in self.queued.items():
            for cmd in q:
                self.log.write(f"error {cmd[0]} {dev_id}: not run, {why}")


class LogFollower:
    """Yields the complete lines appended to a file that may not exist yet and
    may be replaced or truncated (QEMU truncates it when it opens it)."""

    def __init__(self, path, log):
        self.path = path
        self.log = log
        self.f = None
        self.ino = None
        self.partial = b""
        self.generation = 0

    def lines(self):
        try:
            st = os.stat(self.path)
        except OSError:
            return []
        if self.f is not None and (st.st_ino != self.ino or st.st_size < self.f.tell()):
            self.log.write("info the serial log was replaced or truncated: reading it from the start")
            self.f.close()
            self.f = None
            self.generation += 1
        if self.f is None:
            try:
                self.f = open(self.path, "rb")
            except OSError:
                return []
            self.ino = os.fstat(self.f.fileno()).st_ino
            self.partial = b""
        data = self.f.read(1 << 20)
        if not data:
            return []
        chunks = (self.partial + data).split(b"\n")
        self.partial = chunks.pop()
        if len(self.partial) > MAX_LINE:
            self.partial = b""
        return [c.rstrip(b"\r").decode("utf-8", errors="replace") for c in chunks]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--socket", required=True)
    ap.add_argument("--serial-log", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--timeout", type=float, default=20.0,
                    help="seconds to wait for DEVICE_DELETED after device_del")
    ap.add_argument("--connect-timeout", type=float, default=60.0)
    args = ap.parse_args()

    log = SideLog(args.log)

    def stop(signum, _frame):
        log.write(f"info stopped by signal {signum}")
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    log.write(f"info following {args.serial_log}, QMP at {args.socket}")
    try:
        qmp = Qmp(args.socket, log, args.connect_timeout)
    except (QmpError, EOFError, OSError) as e:
        log.write(f"error QMP: {e}")
        return 1
    resp = Responder(qmp, log, args.timeout)
    follower = LogFollower(args.serial_log, log)
    block_end = None
    finished = False
    generation = 0
    try:
        while True:
            if not qmp.pump(POLL):
                raise EOFError
            qmp.take_messages()
            resp.events()
            resp.expire()
            lines = follower.lines()
            if follower.generation != generation:
                generation = follower.generation
                block_end, finished = None, False
            for line in lines:
                text = line.strip()
                if block_end is not None:
                    if text == block_end:
                        block_end = None
                elif text in BLOCKS:
                    block_end = BLOCKS[text]
                elif text == "WL-DONE":
                    finished = True
                m = MARKER_RE.search(line)
                if not m:
                    continue
                if block_end is not None or text in BLOCKS or finished:
                    log.write(f"ignored (replayed output or after WL-DONE): {line[m.start():][:200]}")
                    continue
                cmd = parse_marker(m.group(1))
                if isinstance(cmd, str):
                    log.write(f"ignored malformed marker ({cmd}): {line[m.start():][:200]}")
                    continue
                log.write(f"marker {' '.join(m.group(0).split()[1:])}")
                resp.submit(cmd)
                resp.events()
    except EOFError:
        resp.abandon("QEMU exited")
        log.write("info QEMU closed the QMP socket: exiting")
        return 0
    except (OSError, QmpError) as e:
        log.write(f"error QMP connection: {e}")
        return 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
