"""`python -m simulator tui`: the app on the configured port, with the same server `serve` runs."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from simulator.config import Settings
from simulator.logs import install_redaction
from simulator.server import bind_socket

if TYPE_CHECKING:
    from simulator.tui.backend import Backend

LOG_FILE = "tui.log"


def _log_to_file(folder: Path, level: str) -> Path:
    """The app owns the terminal: logs go to a file in the state folder (secrets redacted)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOG_FILE
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    logging.getLogger("httpx").setLevel(logging.WARNING)
    install_redaction()
    return path


def run_tui(settings: Settings, *, log_level: str = "info", record: str | None = None, force: bool = False) -> int:
    """Open the app until ctrl+q; the port is bound first, so a taken port is a one-line error."""
    from simulator.tui.app import HandoffApp

    sock = bind_socket(settings.sim_host, settings.sim_port)
    log_path = _log_to_file(settings.sim_state_dir, log_level)

    def backend() -> Backend:
        # Imported once the screen is up: the simulator's modules take a moment to load.
        from simulator.tui.backend import ServerBackend

        return ServerBackend(settings, log_level=log_level, sock=sock)

    app = HandoffApp(backend, record=record, force=force)
    app.run()
    print(f"Simulator stopped (log: {log_path}).", flush=True)
    recorded = app.controller.recorded if hasattr(app, "controller") else None
    if recorded is not None:
        print(f"Recording written to {recorded}", flush=True)
    return 1 if app.return_code else 0
