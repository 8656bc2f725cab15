#!/usr/bin/env python3
"""``make screenshots``: every fixture's mail as PNGs, for a person to look at before a template change lands.

Each stored delivery of tests/data (tests/browser/gallery.py) is rendered with the default templates
and photographed in headless Chromium (tests/helpers/chromium.py) at 390 px (a phone) and 800 px (a
reading pane), and at 390 px in dark mode, into ``screenshots/`` (not committed). With ``--readme`` it
also rewrites the two pictures the README shows (docs/images/), cut to the part a reader sees first.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The README's two pictures: (specimen, file under docs/images, height kept in px).
README_IMAGES = (
    ("alertmanager/firing-truncated", "alertmanager-phone.png", 760),
    ("grafana/default-message", "grafana-phone.png", 620),
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots", help="folder for the PNGs")
    parser.add_argument("--readme", action="store_true", help="also rewrite the README's pictures in docs/images")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from tests.browser.gallery import specimens
    from tests.helpers.chromium import DESKTOP_WIDTH_PX, PHONE_WIDTH_PX, Chromium, chromium_path
    from tests.helpers.png import quantize

    executable = chromium_path()
    if executable is None:
        print("Chromium is needed: apt-get install chromium", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    gallery = specimens()
    with Chromium(executable) as browser:
        for specimen in gallery:
            stem = specimen.name.replace("/", "_")
            for width_px, dark, suffix in (
                (PHONE_WIDTH_PX, False, "390"),
                (DESKTOP_WIDTH_PX, False, "800"),
                (PHONE_WIDTH_PX, True, "390-dark"),
            ):
                browser.load(specimen.html, width_px=width_px, dark=dark)
                browser.screenshot(args.out / f"{stem}-{suffix}.png", width_px=width_px)
        if args.readme:
            by_name = {specimen.name: specimen for specimen in gallery}
            images = ROOT / "docs" / "images"
            images.mkdir(parents=True, exist_ok=True)
            for name, file_name, height_px in README_IMAGES:
                browser.load(by_name[name].html, width_px=PHONE_WIDTH_PX)
                browser.screenshot(images / file_name, width_px=PHONE_WIDTH_PX, max_height_px=height_px)
                quantize(images / file_name)  # about a fifth of the size: the README is read online
    print(f"{len(gallery) * 3} screenshots in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
