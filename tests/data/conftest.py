"""A local HTTP server (127.0.0.1 only) that serves a folder, with HTTP Range support."""
import http.server
import threading
from functools import partial

import pytest


class _RangeHandler(http.server.SimpleHTTPRequestHandler):
    log = []

    def log_message(self, *args):  # keep test output clean
        pass

    def send_head(self):
        self.log.append((self.path, self.headers.get("Range")))
        rng = self.headers.get("Range")
        if not rng:
            return super().send_head()
        path = self.translate_path(self.path)
        try:
            f = open(path, "rb")
        except OSError:
            self.send_error(404)
            return None
        size = f.seek(0, 2)
        start = int(rng.split("=")[1].split("-")[0])
        if start >= size:
            f.close()
            self.send_error(416)
            return None
        f.seek(start)
        self.send_response(206)
        self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
        self.send_header("Content-Length", str(size - start))
        self.end_headers()
        return f


@pytest.fixture
def http_folder(tmp_path):
    """(folder served, base URL, request log)."""
    folder = tmp_path / "served"
    folder.mkdir()
    _RangeHandler.log = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(_RangeHandler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield folder, f"http://127.0.0.1:{server.server_address[1]}", _RangeHandler.log
    finally:
        server.shutdown()
        server.server_close()
