"""A Hangar runner in the Python standard library: "generates" a PNG from a prompt and a seed.

It writes the image under $DATA_DIR/outputs/, logs one JSON progress line per step and bills
the image's megapixels through the x-fal-billable-units header.
"""

import hashlib
import json
import os
import random
import signal
import socket
import struct
import sys
import threading
import uuid
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_SIDE = 4096
MAX_STEPS = 100
DATA_DIR = os.environ.get("DATA_DIR", "data")
RUNNER_ID = os.environ.get("HANGAR_RUNNER_ID")

_print_lock = threading.Lock()
_cancelled = set()
_cancel_lock = threading.Lock()


def log(level, message, request_id, **extra):
    line = json.dumps({"level": level, "message": message, "request_id": request_id, **extra})
    with _print_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def format_units(units):
    """Formats billable units the way fal's SDK does: "42" for integers, 8 decimals otherwise."""
    return str(int(units)) if float(units).is_integer() else f"{units:.8f}"


def field_error(name, msg):
    return {"loc": ["body", name], "msg": msg, "type": "value_error"}


def _int_field(body, name, default, low, high, errors):
    value = body.get(name, default)
    if value is None:
        errors.append({"loc": ["body", name], "msg": "Field required", "type": "missing"})
    elif isinstance(value, bool) or not isinstance(value, int):
        errors.append(field_error(name, "Input should be a valid integer"))
    elif not low <= value <= high:
        errors.append(field_error(name, f"Input should be between {low} and {high}"))
    return value


def validate(body):
    """Returns (params, errors) with FastAPI-style error entries."""
    if not isinstance(body, dict):
        return None, [{"loc": ["body"], "msg": "Input should be a valid dictionary", "type": "dict_type"}]
    errors = []
    params = {
        "width": _int_field(body, "width", 512, 1, MAX_SIDE, errors),
        "height": _int_field(body, "height", 512, 1, MAX_SIDE, errors),
        "steps": _int_field(body, "steps", 4, 1, MAX_STEPS, errors),
        "seed": _int_field(body, "seed", random.randrange(2**31), 0, 2**63 - 1, errors),
        "prompt": body.get("prompt"),
    }
    if params["prompt"] is None:
        errors.append({"loc": ["body", "prompt"], "msg": "Field required", "type": "missing"})
    elif not isinstance(params["prompt"], str):
        errors.append(field_error("prompt", "Input should be a valid string"))
    return params, errors


def _row(y, k, base):
    """One RGB scanline (with the PNG filter byte) of a hash-derived diagonal gradient."""
    row = bytearray(1 + 3 * len(base[0]))
    for c in range(3):
        shift = (y * (1 + k[c + 3] % 3) + k[c + 6]) & 255
        row[1 + c :: 3] = base[c].translate(_SHIFT_TABLES[shift])
    return bytes(row)


_SHIFT_TABLES = [bytes((i + s) & 255 for i in range(256)) for s in range(256)]


def generate_png(width, height, prompt, seed, steps, on_step):
    """Builds the image in `steps` bands of rows; `on_step` returns False to stop early."""
    k = hashlib.sha256(f"{seed}:{prompt}".encode()).digest()
    base = [bytes((x * (1 + k[c] % 3)) & 255 for x in range(width)) for c in range(3)]
    compressor = zlib.compressobj(6)
    data = []
    for step in range(steps):
        for y in range(height * step // steps, height * (step + 1) // steps):
            data.append(compressor.compress(_row(y, k, base)))
        if not on_step(step + 1):
            return None
    data.append(compressor.flush())

    def chunk(kind, payload):
        body = kind + payload
        return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", b"".join(data)) + chunk(b"IEND", b"")


_stopping = threading.Event()
_idle = set()  # connections waiting for their next keep-alive request
_idle_lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def handle(self):
        # Keep-alive loop that lets SIGTERM wake idle connections and close busy ones after their response.
        self.close_connection = True
        self.handle_one_request()
        while not self.close_connection and not _stopping.is_set():
            with _idle_lock:
                _idle.add(self.connection)
            self.handle_one_request()

    def parse_request(self):
        with _idle_lock:
            _idle.discard(self.connection)
        return super().parse_request()

    def log_message(self, format, *args):  # noqa: A002 - keep the access log off stdout
        pass

    def send_json(self, status, body, headers=None):
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        if _stopping.is_set():
            self.send_header("connection", "close")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def read_json(self):
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        return json.loads(raw) if raw else {}

    def do_GET(self):
        if self.path.split("?")[0] == "/health":
            self.send_json(200, {"status": "ok"})
        else:
            self.send_json(404, {"detail": "Not Found"})

    def do_POST(self):
        path = self.path.split("?")[0]
        request_id = self.headers.get("x-fal-request-id") or str(uuid.uuid4())
        try:
            body = self.read_json()
        except ValueError:
            self.send_json(422, {"detail": [{"loc": ["body"], "msg": "Invalid JSON", "type": "json_invalid"}]})
            return
        if path == "/cancel":
            with _cancel_lock:
                _cancelled.add(request_id)
            log("info", "cancellation requested", request_id)
            self.send_json(200, {"cancelled": True})
        elif path == "/":
            self.generate(body, request_id)
        else:
            self.send_json(404, {"detail": "Not Found"}, {"x-fal-billable-units": "0"})

    def generate(self, body, request_id):
        params, errors = validate(body)
        if errors:
            self.send_json(422, {"detail": errors}, {"x-fal-billable-units": "0"})
            return
        w, h, steps = params["width"], params["height"], params["steps"]

        def on_step(step):
            log("info", f"step {step}/{steps}", request_id, progress=step / steps)
            with _cancel_lock:
                return request_id not in _cancelled

        png = generate_png(w, h, params["prompt"], params["seed"], steps, on_step)
        if png is None:
            self.send_json(400, {"detail": "cancelled"})
            return
        rel = f"outputs/{request_id}.png"
        os.makedirs(os.path.join(DATA_DIR, "outputs"), exist_ok=True)
        with open(os.path.join(DATA_DIR, rel), "wb") as f:
            f.write(png)
        image = {"path": rel, "width": w, "height": h, "content_type": "image/png"}
        result = {"images": [image], "seed": params["seed"], "prompt": params["prompt"]}
        self.send_json(200, result, {"x-fal-billable-units": format_units(w * h / 1_000_000)})


def stop(server):
    """Stops accepting, wakes idle keep-alive connections; busy ones close after their response."""
    _stopping.set()
    server.shutdown()
    with _idle_lock:
        for conn in list(_idle):
            try:
                conn.shutdown(socket.SHUT_RD)
            except OSError:
                pass


def main():
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("PORT", "8000"))), Handler)
    # Non-daemon threads, joined by server_close(): SIGTERM lets in-flight requests finish.
    server.daemon_threads = False
    server.block_on_close = True
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=stop, args=(server,)).start())
    log("info", "listening", None, runner=RUNNER_ID)
    server.serve_forever()
    server.server_close()
    sys.exit(0)


if __name__ == "__main__":
    main()
