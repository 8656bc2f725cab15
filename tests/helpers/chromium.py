"""One headless Chromium, driven over the DevTools protocol on a pipe: HTML in, measurements and PNGs out.

``--remote-debugging-pipe`` makes Chromium read protocol commands from file descriptor 3 and write
answers to descriptor 4, each message JSON ending in a NUL byte
(https://chromedevtools.github.io/devtools-protocol/, "--remote-debugging-pipe"; Puppeteer's
PipeTransport does the same). That needs no WebSocket client and no new dependency: one process
serves a whole test session, and each page is a ``Page.setDocumentContent`` into one tab.
Debian's package is ``chromium`` (.ci/run installs it).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Narrow phone (iPhone 12-15 CSS width) and a desktop reading pane.
PHONE_WIDTH_PX = 390
DESKTOP_WIDTH_PX = 800
_COMMAND_TIMEOUT_S = 60.0
# Short, so the document's scroll height is the mail's height rather than the viewport's.
_MEASURE_HEIGHT_PX = 200

# Run in the page after the mail is laid out: how wide it is, and where each expected text sits.
_MEASURE_JS = """
(texts) => {
  const root = document.documentElement;
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const nodes = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) nodes.push(node);
  const visible = (text) => {
    for (const node of nodes) {
      const at = node.data.indexOf(text);
      if (at < 0) continue;
      const range = document.createRange();
      range.setStart(node, at);
      range.setEnd(node, at + text.length);
      const rect = range.getBoundingClientRect();
      const style = getComputedStyle(node.parentElement);
      if (rect.width > 0 && rect.height > 0 && rect.left >= -1 && rect.right <= root.clientWidth + 1
          && style.visibility !== 'hidden' && style.display !== 'none' && parseFloat(style.opacity) > 0) {
        return true;
      }
    }
    return false;
  };
  // The right edge of the widest element too: an element may stick out of a box that clips it.
  let widest = 0;
  for (const element of document.body.getElementsByTagName('*')) {
    widest = Math.max(widest, element.getBoundingClientRect().right);
  }
  return {
    viewportWidth: root.clientWidth,
    scrollWidth: Math.ceil(Math.max(root.scrollWidth, document.body.scrollWidth, widest)),
    height: Math.max(root.scrollHeight, document.body.scrollHeight),
    missing: texts.filter((text) => !visible(text)),
    text: document.body.innerText,
  };
}
"""


class ChromiumError(RuntimeError):
    pass


@dataclass(frozen=True)
class Measurement:
    viewport_width_px: int
    scroll_width_px: int
    height_px: int
    missing: list[str]  # expected texts not found, or not laid out inside the viewport
    text: str  # what a reader sees, as innerText

    @property
    def overflow_px(self) -> int:
        return max(0, self.scroll_width_px - self.viewport_width_px)


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


class Chromium:
    """A headless Chromium with one tab; ``load`` puts an HTML document in it at a given width."""

    def __init__(self, executable: str) -> None:
        self._profile = tempfile.mkdtemp(prefix="mailhook-chromium-")
        commands_read, self._commands = os.pipe()
        self._answers, answers_write = os.pipe()

        def on_fds_3_and_4() -> None:  # runs in the child, before exec; via high fds so neither overwrites the other
            high_read, high_write = os.dup(commands_read), os.dup(answers_write)
            os.dup2(high_read, 3)
            os.dup2(high_write, 4)

        self._process = subprocess.Popen(
            [
                executable,
                "--headless",
                "--remote-debugging-pipe",
                # Root in a container has no user namespace for the sandbox; the pages are our own mails.
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-extensions",
                "--hide-scrollbars",
                "--mute-audio",
                f"--user-data-dir={self._profile}",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(3, 4),  # kept open after preexec_fn put the pipes there
            preexec_fn=on_fds_3_and_4,  # the child needs exactly fds 3 and 4
        )
        os.close(commands_read)
        os.close(answers_write)
        self._next_id = 0
        self._buffer = b""
        self._lock = threading.Lock()
        targets = self.call("Target.getTargets")["targetInfos"]
        page = next(t["targetId"] for t in targets if t["type"] == "page")
        self._session = self.call("Target.attachToTarget", targetId=page, flatten=True)["sessionId"]
        self.call("Page.enable", session=True)
        self._frame = self.call("Page.getFrameTree", session=True)["frameTree"]["frame"]["id"]

    def close(self) -> None:
        with contextlib.suppress(ChromiumError, OSError):
            self.call("Browser.close")
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        for fd in (self._commands, self._answers):
            with contextlib.suppress(OSError):
                os.close(fd)
        shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def load(self, html: str, *, width_px: int, dark: bool = False) -> None:
        """The document in the tab at ``width_px`` CSS pixels (a phone's viewport rules below 600)."""
        self.call(
            "Emulation.setDeviceMetricsOverride",
            session=True,
            width=width_px,
            height=_MEASURE_HEIGHT_PX,
            deviceScaleFactor=1,
            mobile=width_px < 600,  # the <meta name="viewport"> then applies, as on a phone
        )
        self.call(
            "Emulation.setEmulatedMedia",
            session=True,
            features=[{"name": "prefers-color-scheme", "value": "dark" if dark else "light"}],
        )
        self.call("Page.setDocumentContent", session=True, frameId=self._frame, html=html)

    def measure(self, expected_texts: list[str]) -> Measurement:
        value = self.evaluate(f"({_MEASURE_JS})({json.dumps(expected_texts)})")
        return Measurement(
            viewport_width_px=int(value["viewportWidth"]),
            scroll_width_px=int(value["scrollWidth"]),
            height_px=int(value["height"]),
            missing=list(value["missing"]),
            text=str(value["text"]),
        )

    def evaluate(self, expression: str) -> Any:
        answer = self.call("Runtime.evaluate", session=True, expression=expression, returnByValue=True)
        if "exceptionDetails" in answer:
            raise ChromiumError(f"script failed: {answer['exceptionDetails']}")
        return answer["result"].get("value")

    def screenshot(self, path: Path, *, width_px: int, max_height_px: int | None = None) -> None:
        """The mail as a PNG, ``width_px`` wide and as tall as its content (or its top ``max_height_px``)."""
        height = int(self.evaluate("Math.ceil(document.documentElement.scrollHeight)"))
        if max_height_px is not None:
            height = min(height, max_height_px)
        self.call(
            "Emulation.setDeviceMetricsOverride",
            session=True,
            width=width_px,
            height=height,
            deviceScaleFactor=1,
            mobile=width_px < 600,
        )
        shot = self.call(
            "Page.captureScreenshot",
            session=True,
            format="png",
            captureBeyondViewport=True,
            clip={"x": 0, "y": 0, "width": width_px, "height": height, "scale": 1},
        )
        path.write_bytes(base64.b64decode(shot["data"]))

    def call(self, method: str, *, session: bool = False, **params: Any) -> Any:
        with self._lock:
            self._next_id += 1
            message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
            if session:
                message["sessionId"] = self._session
            os.write(self._commands, json.dumps(message).encode() + b"\0")
            while True:
                answer = self._read_message()
                if answer.get("id") == self._next_id:
                    if "error" in answer:
                        raise ChromiumError(f"{method}: {answer['error']}")
                    return answer.get("result", {})
                # Anything else is an event (Page.loadEventFired, ...), not needed here.

    def _read_message(self) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            chunk = _read_with_timeout(self._answers, _COMMAND_TIMEOUT_S)
            if not chunk:
                raise ChromiumError(f"Chromium closed its pipe (exit code {self._process.poll()})")
            self._buffer += chunk
        raw, _, self._buffer = self._buffer.partition(b"\0")
        message: dict[str, Any] = json.loads(raw)
        return message


def _read_with_timeout(fd: int, timeout_s: float) -> bytes:
    import select

    ready, _, _ = select.select([fd], [], [], timeout_s)
    if not ready:
        raise ChromiumError(f"no answer from Chromium within {timeout_s:.0f} s")
    return os.read(fd, 1 << 20)
