"""The built-in templates compiled ahead of time, so a new instance's first webhook does not compile them.

Jinja2 turns a template into Python source and compiles that on first use: for the built-in HTML
and text bodies about 50 ms of the first webhook's answer on an idle core (bench/results.md, "Cold
start"), paid again on every new instance. ``scripts/compile_templates.py`` writes them once as
modules (``Environment.compile_templates``, https://jinja.palletsprojects.com/en/stable/api/#jinja2.Environment.compile_templates)
into ``templates/compiled/``, with a manifest of what they were compiled from: each source's
SHA-256 and the Jinja2 version (compiled templates call into its runtime). They are loaded with
``jinja2.ModuleLoader`` only while the manifest still matches, so a template edited without
compiling again is read from its source as before, never served stale; tests/mail/test_rendering.py
fails when the committed modules are not what the sources compile to now.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

# Imported with Jinja2: this module is imported by shared/mail/rendering.py only when it builds its
# environment, on the first webhook.
import jinja2

COMPILED_DIR_NAME = "compiled"
MANIFEST_NAME = "manifest.json"


def compiled_dir(sources: Path) -> Path:
    return sources / COMPILED_DIR_NAME


def manifest_of(sources: Path) -> dict[str, object]:
    """What compiled modules of ``sources`` must have been made from: each template's digest and Jinja2's version."""
    digests = {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(sources.glob("*.j2"))}
    return {"jinja2": jinja2.__version__, "templates": digests}


class _OneAtATimeModuleLoader(jinja2.ModuleLoader):
    """``jinja2.ModuleLoader``, one template load at a time.

    It imports a template's module and then takes it out of ``sys.modules`` again (it keeps it as an
    attribute of its own package): two threads loading a template at once can find the module gone
    under them, a KeyError from importlib, which was a 500 for the first concurrent webhooks of a new
    instance. A load happens once per template and process (the environment caches it), so one at a
    time costs nothing after that.
    """

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self._lock = threading.Lock()

    def load(
        self,
        environment: jinja2.Environment,
        name: str,
        globals: MutableMapping[str, Any] | None = None,  # Jinja2's own parameter name
    ) -> jinja2.Template:
        with self._lock:
            return super().load(environment, name, globals)


def loader_for(sources: Path) -> jinja2.BaseLoader:
    """The compiled modules when they are what ``sources`` compile to now, else the sources themselves."""
    target = compiled_dir(sources)
    try:
        shipped = json.loads((target / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        shipped = None
    if shipped == manifest_of(sources):
        return _OneAtATimeModuleLoader(str(target))
    return jinja2.FileSystemLoader(str(sources))


def write_compiled(environment: jinja2.Environment, sources: Path) -> Path:
    """Compile every template of ``sources`` with ``environment``'s options into ``compiled/``, manifest last."""
    target = compiled_dir(sources)
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir()
    names = sorted(path.name for path in sources.glob("*.j2"))
    environment.compile_templates(str(target), zip=None, filter_func=lambda name: name in names, ignore_errors=False)
    (target / MANIFEST_NAME).write_text(json.dumps(manifest_of(sources), indent=2) + "\n", encoding="utf-8")
    return target
