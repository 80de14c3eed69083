"""A ``sitecustomize`` that refuses and records every network call of a child Python process."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

SITECUSTOMIZE = textwrap.dedent('''
    """Installed by the offline tests: refuse and record every network call in this process."""
    import os, socket

    def _blocked(name):
        def refuse(*args, **kwargs):
            with open(os.environ["OFFLINE_LOG"], "a") as f:
                f.write(name + "\\n")
            raise OSError("network blocked by the offline test (" + name + ")")
        return refuse

    for _attr in ("connect", "connect_ex", "sendto", "sendmsg"):
        setattr(socket.socket, _attr, _blocked("socket." + _attr))
    for _attr in ("create_connection", "getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr"):
        setattr(socket, _attr, _blocked(_attr))
''')


def offline_env(tmp_path: Path, *pythonpath: Path) -> tuple[dict[str, str], Path]:
    """Environment for a child Python that loads the block first; returns it and the attempt log."""
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    log = tmp_path / "network_attempts.log"
    paths = [str(site), *map(str, pythonpath), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "OFFLINE_LOG": str(log), "PYTHONPATH": os.pathsep.join(p for p in paths if p)}, log
