"""Watching for a password where it must never be: process command lines and
environments (``/proc/*/cmdline``, ``/proc/*/environ``) while a tool runs, and
the files the tool wrote."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from urllib.parse import quote


def needles(password: str) -> list[bytes]:
    """The password as it could appear: raw, URL-escaped, libpq-quoted."""
    forms = {password, quote(password, safe=""), password.replace("\\", "\\\\").replace("'", "\\'")}
    return sorted(f.encode() for f in forms if f)


class ProcScanner:
    """Scans every process's cmdline and environ in a loop until stopped."""

    def __init__(self, secrets: Sequence[bytes]) -> None:
        self.secrets = list(secrets)
        self.hits: list[str] = []
        self.scans = 0
        self.pids_seen: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.scan_once()

    def scan_once(self) -> None:
        me = os.getpid()
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            pid = int(entry)
            self.pids_seen.add(pid)
            for kind in ("cmdline", "environ"):
                try:
                    data = Path(f"/proc/{pid}/{kind}").read_bytes()
                except OSError:
                    continue
                for s in self.secrets:
                    if s in data and pid != me:
                        self.hits.append(f"pid {pid} {kind}: {data[:200]!r}")
        self.scans += 1

    def __enter__(self) -> ProcScanner:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def run_watched(
    argv: Sequence[str], *, secrets: Sequence[bytes], **kw
) -> tuple[subprocess.CompletedProcess, ProcScanner]:
    """Run a command to completion while scanning /proc; also checks its output."""
    with ProcScanner(secrets) as scanner:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
        # Make sure the child is seen at least once while it is alive.
        while proc.poll() is None and proc.pid not in scanner.pids_seen:
            time.sleep(0.001)
        out, err = proc.communicate(timeout=300)
    cp = subprocess.CompletedProcess(argv, proc.returncode, out.decode(), err.decode())
    return cp, scanner


def files_containing(roots: Iterable[Path], secrets: Sequence[bytes]) -> list[str]:
    bad = []
    for root in roots:
        if not root.exists():
            continue
        for p in [root] if root.is_file() else root.rglob("*"):
            if p.is_file() and not p.is_symlink():
                data = p.read_bytes()
                if any(s in data for s in secrets):
                    bad.append(str(p))
    return bad
