"""The tutorial's users server: the users of db.json at /, their pictures under /images."""

import json
import os
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
IMAGES = HERE / "images"


class UsersHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/":
            self.send_body(HTTPStatus.OK, "application/json", (HERE / "db.json").read_bytes())
            return
        name = self.path.removeprefix("/images/")
        picture = IMAGES / name
        if name != self.path and "/" not in name and picture.suffix == ".png" and picture.is_file():
            self.send_body(HTTPStatus.OK, "image/png", picture.read_bytes())
            return
        self.send_body(HTTPStatus.NOT_FOUND, "application/json", json.dumps({"error": "not found"}).encode())

    def send_body(self, status: HTTPStatus, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main() -> None:
    port = int(os.environ.get("SERVER_PORT", "8000"))
    server = ThreadingHTTPServer(("0.0.0.0", port), UsersHandler)
    print(f"Server started at port {port}.", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
