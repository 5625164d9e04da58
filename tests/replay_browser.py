"""Replay in a real browser: ReplayWeb.page's own files (the npm package ``replaywebpage``, pinned)
served with a WACZ on 127.0.0.1, and headless Chromium driven over the Chrome DevTools Protocol.

The protocol goes over ``--remote-debugging-pipe`` (JSON messages ending in a NUL byte, the
browser reading on its fd 3 and writing on its fd 4): no WebSocket client, no test dependency.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import queue
import re
import shutil
import subprocess
import tarfile
import tempfile
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.utils.net import ServedInThread

# The ReplayWeb.page release the test replays with, and its bytes (npm's dist.integrity):
# `npm view replaywebpage@2.5.3 dist.integrity`. A new release is taken on purpose, both lines together.
REPLAYWEBPAGE_VERSION = "2.5.3"
REPLAYWEBPAGE_INTEGRITY = \
    "sha512-nCj2PSON3BxeSJKE8AsYPyULv0XPZKJWfy4l9PyQre9SqwLZ+WKZVs/sfLqPOQ4GrH+0YkjbwOhr8cSTH08gsQ=="
# What the embed needs from the package: the page's web component and the service worker.
REPLAYWEBPAGE_FILES = ("ui.js", "sw.js")


def cache_folder() -> Path:
    """Where fetched packages stay between runs: $XDG_CACHE_HOME (or ~/.cache)/sichuanpeace-crawler."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sichuanpeace-crawler"


def replaywebpage(cache: Path | None = None) -> Path:
    """A folder holding ReplayWeb.page's ``ui.js`` and ``sw.js`` of REPLAYWEBPAGE_VERSION: the
    cached one, or fetched with ``npm pack`` from the registry, its tarball checked against
    REPLAYWEBPAGE_INTEGRITY before anything of it is used."""
    folder = (cache or cache_folder()) / f"replaywebpage-{REPLAYWEBPAGE_VERSION}"
    if all((folder / name).is_file() for name in REPLAYWEBPAGE_FILES):
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder.parent) as scratch:
        if shutil.which("npm") is None:
            raise RuntimeError(f"npm is not installed: it fetches replaywebpage@{REPLAYWEBPAGE_VERSION} "
                               f"(apt-get install npm, or Node.js's installer)")
        done = subprocess.run(["npm", "pack", f"replaywebpage@{REPLAYWEBPAGE_VERSION}", "--pack-destination", scratch,
                               "--silent"], capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise RuntimeError(f"npm pack replaywebpage@{REPLAYWEBPAGE_VERSION} failed:\n{done.stderr}")
        tarball = Path(scratch) / f"replaywebpage-{REPLAYWEBPAGE_VERSION}.tgz"
        data = tarball.read_bytes()
        integrity = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
        if integrity != REPLAYWEBPAGE_INTEGRITY:
            raise RuntimeError(f"{tarball.name}: integrity {integrity}, pinned {REPLAYWEBPAGE_INTEGRITY}")
        unpacked = Path(scratch) / "files"
        unpacked.mkdir()
        with tarfile.open(tarball) as archive:
            for name in REPLAYWEBPAGE_FILES:
                member = archive.extractfile(f"package/{name}")
                assert member is not None, f"{tarball.name} has no package/{name}"
                (unpacked / name).write_bytes(member.read())
        try:
            unpacked.rename(folder)  # whole or not at all
        except OSError:
            if not all((folder / name).is_file() for name in REPLAYWEBPAGE_FILES):
                raise
    return folder


EMBED_PAGE = """<!doctype html>
<html>
  <head>
    <meta charset="utf-8">
    <title>replay</title>
    <script src="/ui.js"></script>
    <style>html, body {{ margin: 0; height: 100%; }} replay-web-page {{ display: block; height: 100vh; }}</style>
  </head>
  <body>
    <replay-web-page source="/{wacz}" url="{url}" replaybase="/replay/" embed="replayonly"></replay-web-page>
  </body>
</html>
"""


class StaticHandler(SimpleHTTPRequestHandler):
    """Files as ``python3 -m http.server`` serves them (whole, no ranges), quietly."""

    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".js": "application/javascript",
                      ".wacz": "application/wacz+zip"}

    def log_message(self, *args: object) -> None:
        pass


class RangeHandler(StaticHandler):
    """Files with ``Range: bytes=a-b`` answered, as a web host answers them. ReplayWeb.page then
    reads a WACZ as it reads a hosted one: the zip's directory, the index, and only the byte ranges
    the index points at. Without ranges it loads the whole file."""

    def send_head(self):  # http.server's signature
        self.range_left = None
        match = re.fullmatch(r"bytes=(\d+)-(\d*)|bytes=-(\d+)", self.headers.get("Range", ""))
        path = Path(self.translate_path(self.path))
        if not match or not path.is_file():
            return super().send_head()
        size = path.stat().st_size
        first, last, suffix = match.groups()
        if suffix is not None:  # the last N bytes
            start, end = max(size - int(suffix), 0), size - 1
        else:
            start, end = int(first), min(int(last or size - 1), size - 1)
        if start > end:
            self.send_error(416)
            return None
        handle = path.open("rb")
        handle.seek(start)
        self.send_response(206)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(end - start + 1))
        self.end_headers()
        self.range_left = end - start + 1
        return handle

    def copyfile(self, source, outputfile) -> None:
        left = self.range_left
        if left is None:
            return super().copyfile(source, outputfile)
        outputfile.write(source.read(left))

    def end_headers(self) -> None:
        self.send_header("Accept-Ranges", "bytes")
        super().end_headers()


class ReplayServer(ServedInThread):
    """ReplayWeb.page's files, an embed page replaying ``url`` and the WACZ, on 127.0.0.1 (a port the
    OS chooses; a secure context, as a service worker needs), byte ranges answered or not."""

    def __init__(self, root: Path, files: Path, wacz: Path, url: str, ranges: bool = True):
        root.mkdir(parents=True, exist_ok=True)
        (root / "replay").mkdir(exist_ok=True)
        shutil.copy(files / "ui.js", root / "ui.js")
        shutil.copy(files / "sw.js", root / "replay" / "sw.js")  # the service worker's scope: /replay/
        shutil.copy(wacz, root / wacz.name)
        (root / "index.html").write_text(EMBED_PAGE.format(wacz=wacz.name, url=url), "utf-8")
        handler = RangeHandler if ranges else StaticHandler
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), lambda *a: handler(*a, directory=str(root)))
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"


def chromium_path() -> str | None:
    return next((found for name in ("chromium", "chromium-browser") if (found := shutil.which(name))), None)


class Chromium:
    """Headless Chromium, driven over its DevTools pipe: ``send`` a command (to the browser, or to
    a page's session) and get its result."""

    def __init__(self, executable: str, profile: Path):
        commands_read, self._commands = os.pipe()
        self._answers, answers_write = os.pipe()
        flags = ["--headless=new", "--remote-debugging-pipe", f"--user-data-dir={profile}", "--no-first-run",
                 "--no-default-browser-check", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
                 "--window-size=1280,1024", "about:blank"]
        if os.geteuid() == 0:
            flags.insert(0, "--no-sandbox")  # Chromium's sandbox refuses to run as root
        # The browser reads commands on its fd 3 and writes answers on its fd 4: the pipes go in as
        # stdin and stdout, and the shell moves them there.
        self.process = subprocess.Popen(
            ["/bin/sh", "-c", 'exec "$@" 3<&0 4>&1 0</dev/null 1>/dev/null', "sh", executable, *flags],
            stdin=commands_read, stdout=answers_write, stderr=subprocess.PIPE)
        os.close(commands_read)
        os.close(answers_write)
        self._next_id = 0
        self._results: dict[int, queue.Queue] = {}
        self._lock = threading.Lock()
        self._stderr: list[bytes] = []
        threading.Thread(target=self._read, daemon=True).start()
        stderr = self.process.stderr
        assert stderr is not None  # stderr=PIPE
        threading.Thread(target=lambda: self._stderr.extend(stderr), daemon=True).start()

    def _read(self) -> None:
        buffer = b""
        with os.fdopen(self._answers, "rb", buffering=0) as answers:
            while chunk := answers.read(65536):
                buffer += chunk
                *messages, buffer = buffer.split(b"\0")
                for message in messages:
                    answer = json.loads(message)
                    if "id" in answer:
                        with self._lock:
                            waiting = self._results.get(answer["id"])
                        if waiting is not None:
                            waiting.put(answer)

    def send(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 60) -> dict:
        with self._lock:
            self._next_id += 1
            number = self._next_id
            waiting: queue.Queue = queue.Queue()
            self._results[number] = waiting
        message = {"id": number, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        try:
            answer = waiting.get(timeout=timeout)
        except queue.Empty:
            raise RuntimeError(f"Chromium did not answer {method} in {timeout} s; its stderr:\n"
                               + b"".join(self._stderr).decode(errors="replace")[-3000:]) from None
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        return answer["result"]

    def open(self, url: str) -> str:
        """A new page at ``url``; its session id."""
        target = self.send("Target.createTarget", {"url": url})["targetId"]
        return self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]

    def frames(self, session: str) -> list[dict]:
        """Every frame of the page (same-process ones: the whole page on one origin)."""
        found, todo = [], [self.send("Page.getFrameTree", session=session)["frameTree"]]
        while todo:
            node = todo.pop()
            found.append(node["frame"])
            todo += node.get("childFrames", [])
        return found

    def evaluate_in(self, session: str, frame_id: str, expression: str) -> object:
        """``expression``'s value, JSON-able, in a world of its own in one frame (its DOM, not its scripts)."""
        context = self.send("Page.createIsolatedWorld", {"frameId": frame_id, "worldName": "test"},
                            session=session)["executionContextId"]
        result = self.send("Runtime.evaluate", {"expression": expression, "contextId": context, "returnByValue": True},
                           session=session)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, session: str, path: Path) -> Path:
        shot = self.send("Page.captureScreenshot", {"format": "png"}, session=session)
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    def close(self) -> None:
        with contextlib.suppress(RuntimeError):
            self.send("Browser.close", timeout=10)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._commands)

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def wait_for(check, timeout: float, pause: float = 0.25):
    """``check()``'s first truthy value, or its last value once ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(pause)


if __name__ == "__main__":  # .ci/run: `python3 -m tests.replay_browser` fetches the pinned package into the cache
    print(replaywebpage())
