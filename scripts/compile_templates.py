"""Compile the built-in mail templates into shared/mail/templates/compiled/ (run after editing them).

    .venv/bin/python scripts/compile_templates.py      (or: make templates)

The app loads those modules instead of compiling the templates on a new instance's first webhook,
as long as their manifest matches the sources (shared/mail/compiled_templates.py); `make test`
fails while they are out of date.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from shared.mail.rendering import compile_built_in_templates


def main() -> None:
    target = compile_built_in_templates()
    print(f"compiled {len(list(target.glob('tmpl_*.py')))} templates into {target}")


if __name__ == "__main__":
    main()
