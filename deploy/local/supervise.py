"""python -m deploy.local.supervise <module>: runs `python -m <module>` and restarts it when it
crashes, with backoff, the way compose's `restart: unless-stopped` or a Kubernetes Deployment
does in production.

- An exit after SIGTERM/SIGINT (ours) ends the supervisor too: a stop is a stop.
- Exit code 3 (halted by the dead-letter policy: the stage itself is broken) is not restarted;
  a restart would only halt again on the same message. It needs a fix, then a start.
- Exit code 4 (it cannot connect with its configuration: a wrong password, an untrusted CA) is
  not restarted either: the configuration needs a fix.
- Any other exit, a SIGKILL included, is restarted after 1 s, doubling to at most 30 s while it
  keeps crashing within a minute of its start; a run that lasted longer resets the backoff.

It also keeps the service's log file (its stdout, opened for appending) under LOG_MAX_BYTES:
past that, the file is copied to `<log>.1` and truncated in place (logrotate's copytruncate;
writes in append mode carry on at the new end).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import FrameType

from shared.runtime.security import EXIT_CONNECTION
from shared.runtime.stage import EXIT_HALTED

FIRST_DELAY, MAX_DELAY, HEALTHY_SECONDS = 1.0, 30.0, 60.0
LOG_MAX_BYTES = 50_000_000
LOG_CHECK_SECONDS = 30.0


def rotate_if_large(log: Path, max_bytes: int = LOG_MAX_BYTES) -> bool:
    """Copies the log to `<log>.1` and truncates it when it is over `max_bytes`."""
    if not log.is_file() or log.stat().st_size <= max_bytes:
        return False
    shutil.copyfile(log, log.with_name(log.name + ".1"))
    os.truncate(log, 0)
    return True


def _keep_log_small() -> None:
    """Our stdout is the service's log file (deploy/local/processes.py opens it for appending)."""
    log = Path(os.readlink("/proc/self/fd/1")) if os.path.exists("/proc/self/fd/1") else None
    while log is not None:
        time.sleep(LOG_CHECK_SECONDS)
        rotate_if_large(log)


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
    threading.Thread(target=_keep_log_small, daemon=True, name="log-size").start()
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
        if code == EXIT_CONNECTION:
            print(f"supervise: {command[-1]} cannot connect with its configuration (exit 4); "
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
