"""A throwaway RFC 3161 time-stamping authority on 127.0.0.1: a fresh CA, OpenSSL's `ts -reply`, a tiny HTTP server.

Real authorities answer the same way (RFC 3161 over HTTP POST); running OpenSSL's own
implementation lets tests check tokens end to end without reaching any network.
"""

import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

_CONFIG = """
[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
dir = {dir}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.crt
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def _run(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def make_authority(directory: Path) -> Path:
    """CA and TSA keys/certificates (timeStamping EKU) under `directory`; returns the CA certificate path."""
    d = directory
    _run(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        str(d / "ca.key"),
        "-out",
        str(d / "ca.crt"),
        "-days",
        "2",
        "-subj",
        "/CN=listingwatch test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    )
    _run(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        str(d / "tsa.key"),
        "-out",
        str(d / "tsa.csr"),
        "-subj",
        "/CN=listingwatch test TSA",
    )
    (d / "ext.cnf").write_text("extendedKeyUsage=critical,timeStamping\nkeyUsage=critical,digitalSignature\n")
    _run(
        "x509",
        "-req",
        "-in",
        str(d / "tsa.csr"),
        "-CA",
        str(d / "ca.crt"),
        "-CAkey",
        str(d / "ca.key"),
        "-CAcreateserial",
        "-out",
        str(d / "tsa.crt"),
        "-days",
        "2",
        "-extfile",
        str(d / "ext.cnf"),
    )
    (d / "serial").write_text("01\n")
    (d / "tsa.cnf").write_text(_CONFIG.format(dir=d))
    return d / "ca.crt"


@dataclass
class Authority:
    url: str
    ca_file: Path
    requests: list[int]


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""

    def do_POST(self) -> None:
        query = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with tempfile.TemporaryDirectory() as tmp:
            q, r = Path(tmp) / "q.tsq", Path(tmp) / "r.tsr"
            q.write_bytes(query)
            d = self.server.directory
            subprocess.run(
                [
                    "openssl",
                    "ts",
                    "-reply",
                    "-config",
                    str(d / "tsa.cnf"),
                    "-queryfile",
                    str(q),
                    "-inkey",
                    str(d / "tsa.key"),
                    "-signer",
                    str(d / "tsa.crt"),
                    "-out",
                    str(r),
                ],
                check=True,
                capture_output=True,
            )
            body = r.read_bytes()
        self.server.requests.append(len(query))
        self.send_response(200)
        self.send_header("Content-Type", "application/timestamp-reply")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, directory: Path) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.directory = directory
        self.requests: list[int] = []


@contextmanager
def running_authority(directory: Path) -> Iterator[Authority]:
    ca = make_authority(directory)
    server = _Server(directory)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield Authority(url=f"http://{host}:{port}/tsa", ca_file=ca, requests=server.requests)
    finally:
        server.shutdown()
        server.server_close()
