"""A local HTTP file server for download tests: Range requests, dropped connections, a log.

Serves only 127.0.0.1, from memory, and stops when the `with` block ends.
"""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FileServer:
    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.drops: dict[str, list[int]] = {}   # path -> bytes to send before hanging up, per request
        self.ignore_range = False
        self.log: list[tuple[str, str | None, int]] = []  # (path, Range header, status)
        self.sent = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_GET(self):
                body = server.files.get(self.path)
                rng = self.headers.get("Range")
                if body is None:
                    server.log.append((self.path, rng, 404))
                    self.send_error(404)
                    return
                start = 0
                match = re.fullmatch(r"bytes=(\d+)-", rng or "")
                if match and not server.ignore_range:
                    start = int(match[1])
                    if start >= len(body):
                        server.log.append((self.path, rng, 416))
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(body)}")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                server.log.append((self.path, rng, 206 if start else 200))
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                payload = body[start:]
                drops = server.drops.get(self.path)
                if drops:
                    payload = payload[: drops.pop(0)]
                # counted before it is written: the client may finish reading (and the test
                # check the count) before this thread runs another line
                server.sent += len(payload)
                self.wfile.write(payload)
                if drops is not None and len(payload) < len(body) - start:
                    self.close_connection = True

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=10)
