"""Minimal Chrome DevTools Protocol client (stdlib only) for the report's browser test.

Loads a page in headless Chromium and reports what a reader's browser would see: the
state of every <img>, console errors, uncaught exceptions, log entries and every
network request. It talks to the browser endpoint over a WebSocket (RFC 6455, the
small subset CDP needs) and uses a flattened session for the page.

The DevTools port is read from ``DevToolsActivePort`` in the fresh profile folder
that Chromium writes once it listens, which avoids parsing its stderr.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional


def find_chromium() -> Optional[str]:
    for name in (os.environ.get("ZCBENCH_CHROMIUM"), "chromium", "chromium-browser",
                 "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


class WebSocket:
    def __init__(self, host: str, port: int, path: str, timeout: float):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        request = (f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                   f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                   "Sec-WebSocket-Version: 13\r\n\r\n")
        self.sock.sendall(request.encode())
        response = b""
        while b"\r\n\r\n" not in response:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("DevTools closed the connection during the handshake")
            response += chunk
        head, self.buffer = response.split(b"\r\n\r\n", 1)
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise ConnectionError(f"WebSocket handshake refused: {head[:200]!r}")

    def _read(self, n: int) -> bytes:
        while len(self.buffer) < n:
            chunk = self.sock.recv(max(65536, n - len(self.buffer)))
            if not chunk:
                raise ConnectionError("DevTools connection closed")
            self.buffer += chunk
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out

    def _send_frame(self, opcode: int, payload: bytes) -> None:
        header = bytes([0x80 | opcode])
        n = len(payload)
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 1 << 16:
            header += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)  # clients must mask (RFC 6455 5.3)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def send(self, text: str) -> None:
        self._send_frame(0x1, text.encode())

    def recv(self) -> str:
        message = b""
        while True:
            b0, b1 = self._read(2)
            opcode, n = b0 & 0x0F, b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            mask = self._read(4) if b1 & 0x80 else None
            payload = self._read(n)
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            if opcode == 0x9:  # ping
                self._send_frame(0xA, payload)
                continue
            if opcode == 0x8:
                raise ConnectionError("DevTools closed the WebSocket")
            if opcode in (0x0, 0x1, 0x2):
                message += payload
                if b0 & 0x80:
                    return message.decode()

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


@dataclass
class PageReport:
    images: List[Dict[str, Any]] = field(default_factory=list)
    console_errors: List[str] = field(default_factory=list)
    exceptions: List[str] = field(default_factory=list)
    log_errors: List[str] = field(default_factory=list)
    requests: List[str] = field(default_factory=list)
    failed_requests: List[str] = field(default_factory=list)
    title: str = ""


class Chromium:
    """A headless Chromium with a throw-away profile; use as a context manager."""

    def __init__(self, binary: str, profile_dir: str, timeout: float = 60.0):
        self.binary, self.profile_dir, self.timeout = binary, profile_dir, timeout
        self.proc: Optional[subprocess.Popen] = None
        self.ws: Optional[WebSocket] = None
        self._id = 0
        self._pending: List[Dict[str, Any]] = []

    def __enter__(self) -> "Chromium":
        os.makedirs(self.profile_dir, exist_ok=True)
        self.log_path = os.path.join(self.profile_dir, "chromium.log")
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [self.binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--disable-dev-shm-usage", "--remote-debugging-port=0",
             f"--user-data-dir={self.profile_dir}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT)
        port_file = os.path.join(self.profile_dir, "DevToolsActivePort")
        deadline = time.monotonic() + self.timeout
        while True:
            if os.path.exists(port_file):
                lines = open(port_file).read().split("\n")
                if len(lines) >= 2 and lines[0].strip() and lines[1].strip():
                    break
            if self.proc.poll() is not None:
                raise RuntimeError(f"chromium exited with {self.proc.returncode}: "
                                   f"{self.log_tail()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"chromium did not open DevTools: {self.log_tail()}")
            time.sleep(0.05)
        self.ws = WebSocket("127.0.0.1", int(lines[0]), lines[1].strip(), self.timeout)
        return self

    def log_tail(self) -> str:
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-2000:].decode(errors="replace")
        except OSError:
            return ""

    def __exit__(self, *exc) -> None:
        try:
            if self.ws is not None:
                self.call("Browser.close")
        except Exception:  # noqa: BLE001  closing is best effort
            pass
        if self.ws is not None:
            self.ws.close()
        if self.proc is not None:
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()

    def call(self, method: str, params: Optional[Dict[str, Any]] = None,
             session: Optional[str] = None) -> Dict[str, Any]:
        self._id += 1
        message: Dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self.ws.send(json.dumps(message))
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self._pending.append(reply)  # an event: keep it for the page report
        raise TimeoutError(method)

    def _event(self) -> Dict[str, Any]:
        return self._pending.pop(0) if self._pending else json.loads(self.ws.recv())

    def load(self, url: str) -> PageReport:
        """Open ``url`` in a new tab, wait for its load event, and inspect it."""
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Runtime", "Log", "Page", "Network"):
            self.call(f"{domain}.enable", session=session)
        self._pending.clear()  # events of about:blank are not the report's
        report = PageReport()
        self.call("Page.navigate", {"url": url}, session=session)
        deadline = time.monotonic() + self.timeout
        loaded = False
        while not loaded:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not finish loading")
            loaded = self._record(self._event(), session, report)
        result = self.call("Runtime.evaluate", {
            "expression": "JSON.stringify({title: document.title, images: Array.from("
                          "document.images).map(i => ({complete: i.complete, width: "
                          "i.naturalWidth, height: i.naturalHeight, alt: i.alt, "
                          "src: i.src.slice(0, 40)}))})",
            "returnByValue": True}, session=session)
        # Events that arrived while evaluating (late console errors) still count.
        for event in self._pending:
            self._record(event, session, report)
        self._pending.clear()
        value = json.loads(result["result"]["value"])
        report.images, report.title = value["images"], value["title"]
        return report

    @staticmethod
    def _record(event: Dict[str, Any], session: str, report: PageReport) -> bool:
        if event.get("sessionId") != session:
            return False
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            report.console_errors.append(json.dumps(params.get("args"))[:500])
        elif method == "Runtime.exceptionThrown":
            report.exceptions.append(json.dumps(params.get("exceptionDetails"))[:500])
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            report.log_errors.append(f"{entry.get('source')}: {entry.get('text')} {entry.get('url', '')}")
        elif method == "Network.requestWillBeSent":
            report.requests.append(params.get("request", {}).get("url", "")[:120])
        elif method == "Network.loadingFailed":
            report.failed_requests.append(f"{params.get('errorText')} {params.get('blockedReason', '')}")
        return method == "Page.loadEventFired"
