"""Azurite, the Azure Storage emulator (npm package `azurite`, installed by `make test`), on loopback.

The queue, blob and table services run in one process with in-memory storage, on ports chosen
free for each test session, so tests never share state with a developer's own Azurite.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.helpers.processes import free_ports, stop

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "devstoreaccount1"
# The emulator's well-known key (learn.microsoft.com/azure/storage/common/storage-use-azurite).
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def azurite_binary() -> str:
    local = ROOT / "node_modules" / ".bin" / "azurite"
    found = str(local) if local.exists() else shutil.which("azurite")
    if found is None:
        raise RuntimeError("Azurite is not installed: run `make test` (it runs `npm ci`), or `npm ci` yourself")
    return found


@contextmanager
def running_azurite() -> Iterator[str]:
    """Start Azurite and yield a connection string for it."""
    blob, queue, table = free_ports(3)
    with tempfile.TemporaryDirectory(prefix="azurite-") as workspace:
        arguments = ["--inMemoryPersistence", "--silent", "--skipApiVersionCheck", "--disableProductStyleUrl"]
        for service, port in (("blob", blob), ("queue", queue), ("table", table)):
            arguments += [f"--{service}Host", "127.0.0.1", f"--{service}Port", str(port)]
        process = subprocess.Popen(
            [azurite_binary(), *arguments],
            cwd=workspace,  # whatever it writes besides its in-memory data stays out of the repo
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            deadline = time.monotonic() + 30
            for port in (blob, queue, table):
                while True:
                    try:
                        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                        break
                    except OSError:
                        if process.poll() is not None or time.monotonic() > deadline:
                            raise RuntimeError(f"Azurite did not start:\n{process.communicate()[0]}") from None
                        time.sleep(0.1)
            yield (
                f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};"
                f"BlobEndpoint=http://127.0.0.1:{blob}/{ACCOUNT};"
                f"QueueEndpoint=http://127.0.0.1:{queue}/{ACCOUNT};"
                f"TableEndpoint=http://127.0.0.1:{table}/{ACCOUNT};"
            )
        finally:
            stop(process)
