"""python -m deploy.local.supervise <module>: runs `python -m <module>` and restarts it when it
crashes, with backoff, the way compose's `restart: unless-stopped` or a Kubernetes Deployment
does in production.

- An exit after SIGTERM/SIGINT (ours) ends the supervisor too: a stop is a stop.
- Exit code 3 (halted by the dead-letter policy: the stage itself is broken) is not restarted;
  a restart would only halt again on the same message. It needs a fix, then a start.
- Any other exit, a SIGKILL included, is restarted after 1 s, doubling to at most 30 s while it
  keeps crashing within a minute of its start; a run that lasted longer resets the backoff.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from types import FrameType

from shared.runtime.stage import EXIT_HALTED

FIRST_DELAY, MAX_DELAY, HEALTHY_SECONDS = 1.0, 30.0, 60.0


def supervise(command: list[str]) -> int:
    stopping = False
    child: subprocess.Popen[bytes] | None = None

    def forward(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        if child is not None and child.poll() is None:
            child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    delay = FIRST_DELAY
    while True:
        started = time.monotonic()
        child = subprocess.Popen(command)
        code = child.wait()
        if stopping or code == 0:
            return code
        if code == EXIT_HALTED:
            print(f"supervise: {command[-1]} halted by the dead-letter policy (exit 3); "
                  "not restarting", flush=True)
            return code
        if time.monotonic() - started > HEALTHY_SECONDS:
            delay = FIRST_DELAY
        print(f"supervise: {command[-1]} exited with {code}; restarting in {delay:.0f}s", flush=True)
        deadline = time.monotonic() + delay
        while time.monotonic() < deadline and not stopping:
            time.sleep(0.1)
        if stopping:
            return code
        delay = min(MAX_DELAY, delay * 2)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: python -m deploy.local.supervise <module>", file=sys.stderr)
        sys.exit(2)
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(supervise([sys.executable, "-m", sys.argv[1]]))
