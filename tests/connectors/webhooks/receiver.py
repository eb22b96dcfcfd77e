"""A real HTTP receiver for fev-webhooks' tests: Python's http.server on
127.0.0.1 (HTTP/1.1, keep-alive), answering as the test tells it (200, 410,
429 with Retry-After, 500, a delay past the sender's timeout) and checking
every Standard Webhooks signature independently, with hmac and base64."""
import base64
import hashlib
import hmac
import http.server
import threading
import time


def secret_key(secret):
    """The key bytes of a whsec_ secret."""
    assert secret.startswith("whsec_")
    return base64.b64decode(secret[len("whsec_"):])


def signature(secret, wid, ts, body):
    mac = hmac.new(secret_key(secret), b"%s.%s." % (wid.encode(),
                                                     ts.encode()) + body,
                   hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def signature_ok(secrets, headers, body):
    """Every secret has its entry in webhook-signature (rotation: each
    active secret signs), and nothing else is there."""
    wid, ts = headers.get("webhook-id"), headers.get("webhook-timestamp")
    sent = headers.get("webhook-signature", "").split(" ")
    if not wid or not ts:
        return False
    want = [signature(s, wid, ts, body) for s in secrets]
    return sorted(sent) == sorted(want) and all(
        hmac.compare_digest(a, b) for a, b in zip(sorted(sent),
                                                   sorted(want)))


class Request:
    def __init__(self, headers, body, status):
        self.headers = headers
        self.body = body
        self.status = status
        self.at = time.monotonic()
        self.wid = headers.get("webhook-id")


class Receiver:
    def __init__(self, secrets):
        self.secrets = secrets
        self.requests = []
        self.bad_signatures = []
        self.concurrent = self.max_concurrent = 0
        self.lock = threading.Lock()
        # answer(request_headers, body) -> (status, {headers}, delay_s)
        self.answer = lambda h, b: (200, {}, 0)
        recv = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                n = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(n)
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, extra, delay = recv.answer(headers, body)
                with recv.lock:
                    recv.concurrent += 1
                    recv.max_concurrent = max(recv.max_concurrent,
                                              recv.concurrent)
                if delay:
                    time.sleep(delay)
                with recv.lock:
                    recv.concurrent -= 1
                with recv.lock:
                    if not signature_ok(recv.secrets, headers, body):
                        recv.bad_signatures.append(headers)
                    recv.requests.append(Request(headers, body, status))
                try:
                    self.send_response(status)
                    for k, v in extra.items():
                        self.send_header(k, v)
                    self.send_header("content-length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the sender gave up (timeout): fine

        class Server(http.server.ThreadingHTTPServer):
            # The sender opens up to max_in_flight connections at once;
            # the default backlog of 5 would drop SYNs (1 s retransmits).
            request_queue_size = 1024

            def handle_error(self, request, client_address):
                pass  # a sender killed mid-request (the tests do that)

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d/hook" % self.port
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()

    def got(self):
        with self.lock:
            return list(self.requests)

    def delivered(self):
        """Bodies answered 2xx, each with the webhook-ids it came with."""
        out = {}
        for r in self.got():
            if 200 <= r.status < 300:
                out.setdefault(r.body, set()).add(r.wid)
        return out

    def close(self):
        self.server.shutdown()
        self.server.server_close()
