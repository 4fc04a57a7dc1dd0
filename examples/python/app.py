"""A tiny HTTP app on the standard library: GET / greets, GET /healthz says ok.

It writes nothing to disk, so the read-only root is no obstacle, and it stops on SIGTERM by
finishing the request in hand, so a rollout drains cleanly.
"""

import json
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GREETING = os.environ.get("GREETING", "hello from python on herd")
PORT = int(os.environ.get("PORT", "8080"))


class Handler(BaseHTTPRequestHandler):
    server_version = "herd-python"
    sys_version = ""

    def do_GET(self):
        if self.path == "/":
            self.reply(200, GREETING)
        elif self.path == "/healthz":
            self.reply(200, "ok")
        else:
            self.reply(404, "not found")

    def reply(self, status, text):
        body = f"{text}\n".encode()
        self.send_response(status)
        self.send_header("content-type", "text/plain; charset=utf-8")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        print(json.dumps({"msg": "request", "line": format % args}), flush=True)


def main():
    server = ThreadingHTTPServer(("0.0.0.0", PORT), Handler)
    # shutdown() waits for serve_forever to return, so it runs on another thread.
    stop = lambda signum, frame: threading.Thread(target=server.shutdown).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(json.dumps({"msg": "listening", "port": PORT, "pid": os.getpid()}), flush=True)
    server.serve_forever()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
