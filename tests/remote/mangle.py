"""A man in the middle for fault tests: runs a guest command and forwards its stdin and
stdout, changing what the guest sends once the file named by argv[1] says so:

* ``garbage``: every ``==> `` in the answer becomes ``=#> `` (head's headers broken);
* ``silent``: the answer is swallowed (the guest seems to stop answering).

Usage: ``python3 mangle.py FLAGFILE COMMAND...``
"""

from __future__ import annotations

import os
import selectors
import subprocess
import sys


def main() -> int:
    flag = sys.argv[1]
    child = subprocess.Popen(sys.argv[2:], stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
    assert child.stdin is not None and child.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(0, selectors.EVENT_READ, "in")
    selector.register(child.stdout, selectors.EVENT_READ, "out")
    while True:
        for key, _ in selector.select():
            if key.data == "in":
                data = os.read(0, 65536)
                if not data:
                    child.stdin.close()
                    selector.unregister(0)
                    continue
                child.stdin.write(data)
                continue
            data = os.read(child.stdout.fileno(), 65536)
            if not data:
                return child.wait()
            try:
                mode = open(flag).read().strip()
            except OSError:
                mode = ""
            if mode == "garbage":
                data = data.replace(b"==> ", b"=#> ")
            elif mode == "silent":
                continue
            os.write(1, data)


if __name__ == "__main__":
    sys.exit(main())
