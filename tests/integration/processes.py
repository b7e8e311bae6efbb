"""Long-running server processes started by integration tests, stopped together."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class Processes:
    """The long-running production processes, stopped together (and their logs kept)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.procs: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, venv: Path, args: list[str], env: dict[str, str]) -> Path:
        log = self.workdir / f"{name}.log"
        with log.open("wb") as fh:
            proc = subprocess.Popen(
                [str(venv / "bin" / args[0]), *args[1:]],
                cwd=ROOT,
                env=env,
                stdout=fh,
                stderr=subprocess.STDOUT,
            )
        self.procs.append((name, proc))
        return log

    def kill(self, name: str) -> None:
        """SIGKILL one process (a fault drill): no shutdown handler runs."""
        for i, (each, proc) in enumerate(self.procs):
            if each == name:
                proc.kill()
                proc.wait()
                del self.procs[i]
                return
        raise KeyError(name)

    def check_alive(self) -> None:
        for name, proc in self.procs:
            if proc.poll() is not None:
                log = (self.workdir / f"{name}.log").read_text(errors="replace")
                raise AssertionError(f"{name} exited with {proc.returncode}:\n{log[-4000:]}")

    def stop(self) -> None:
        for _, proc in self.procs:
            proc.terminate()
        for _, proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
