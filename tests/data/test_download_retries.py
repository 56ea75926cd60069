"""Issue 13: a stalled download raised a raw TimeoutError after 60 s. Now it retries with
backoff, resuming from the partial file, and then says what happened."""
import http.server
import threading
import time

import pytest

from wavenets.data import DownloadError
from wavenets.data._download import download

PAYLOAD = bytes(range(256)) * 64  # 16 KiB


class _Stalling(http.server.BaseHTTPRequestHandler):
    stalls = 0  # how many requests stall half-way before the server behaves
    requests: list = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        rng = self.headers.get("Range")
        start = int(rng.split("=")[1].split("-")[0]) if rng else 0
        type(self).requests.append(start)
        body = PAYLOAD[start:]
        self.send_response(206 if start else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if type(self).stalls > 0:
            type(self).stalls -= 1
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            time.sleep(1.0)  # longer than the client's timeout: a stall
            return
        self.wfile.write(body)


@pytest.fixture
def server():
    _Stalling.requests = []
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Stalling)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}/file.bin"
    finally:
        srv.shutdown()
        srv.server_close()


def test_a_stall_is_retried_and_resumed(server, tmp_path, capsys):
    _Stalling.stalls = 2
    out = download(server, tmp_path / "file.bin", timeout=0.3, retries=3, backoff=0.01)
    assert out.read_bytes() == PAYLOAD
    assert _Stalling.requests[0] == 0 and 0 < _Stalling.requests[1] < _Stalling.requests[2]  # resumed each time
    assert capsys.readouterr().err.count("stalled") == 2


def test_a_stall_that_persists_says_so_and_keeps_the_partial_file(server, tmp_path):
    _Stalling.stalls = 10
    with pytest.raises(DownloadError, match=r"failed 3 times \(the transfer stalled .*run the command again to resume"):
        download(server, tmp_path / "file.bin", timeout=0.3, retries=2, backoff=0.01, quiet=True)
    assert (tmp_path / "file.bin.part").stat().st_size > 0 and not (tmp_path / "file.bin").exists()
