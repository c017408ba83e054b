#!/usr/bin/env python3
"""A minimal docker token server for tests: GET /token?service=..&scope=..
with optional HTTP basic auth, answering RS256 JWTs signed by the `openssl`
CLI, their `kid` being distribution's libtrust fingerprint of the key.

Users (user:password:actions, actions comma-separated, e.g. pull,push) are
given with --user; an anonymous or unlisted-scope request gets no access.
Every scope granted is intersected with the user's actions.

    token-server.py --port P --key key.pem --issuer I --user carol:pw:pull,push
"""

import argparse
import base64
import hashlib
import json
import subprocess
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def libtrust_kid(key_path: str) -> str:
    spki = subprocess.run(
        ["openssl", "pkey", "-in", key_path, "-pubout", "-outform", "DER"],
        check=True,
        capture_output=True,
    ).stdout
    b32 = base64.b32encode(hashlib.sha256(spki).digest()[:30]).decode().rstrip("=")
    return ":".join(b32[i : i + 4] for i in range(0, len(b32), 4))


def sign_rs256(key_path: str, data: bytes) -> bytes:
    return subprocess.run(
        ["openssl", "dgst", "-sha256", "-sign", key_path],
        input=data,
        check=True,
        capture_output=True,
    ).stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--issuer", required=True)
    ap.add_argument("--user", action="append", default=[])
    args = ap.parse_args()
    users = {}
    for u in args.user:
        name, password, actions = u.split(":", 2)
        users[name] = (password, set(actions.split(",")))
    kid = libtrust_kid(args.key)

    class Handler(BaseHTTPRequestHandler):
        def reply(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            url = urllib.parse.urlparse(self.path)
            if url.path != "/token":
                return self.reply(404, {"error": "not found"})
            query = urllib.parse.parse_qs(url.query)
            user, allowed = "", set()
            auth = self.headers.get("Authorization", "")
            if auth.startswith("Basic "):
                name, _, password = base64.b64decode(auth[6:]).decode().partition(":")
                if name not in users or users[name][0] != password:
                    return self.reply(401, {"errors": [{"code": "UNAUTHORIZED"}]})
                user, allowed = name, users[name][1]
            access = []
            for scope in " ".join(query.get("scope", [])).split():
                kind, _, rest = scope.partition(":")
                name, _, actions = rest.rpartition(":")
                granted = [a for a in actions.split(",") if a in allowed]
                if kind == "repository" and granted:
                    access.append({"type": kind, "name": name, "actions": granted})
            now = int(time.time())
            claims = {
                "iss": args.issuer,
                "sub": user,
                "aud": query.get("service", [""])[0],
                "exp": now + 300,
                "nbf": now - 1,
                "iat": now,
                "jti": b64url(hashlib.sha256(str(time.time_ns()).encode()).digest()[:12]),
                "access": access,
            }
            header = {"typ": "JWT", "alg": "RS256", "kid": kid}
            signing_input = (
                b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
            )
            token = signing_input + "." + b64url(sign_rs256(args.key, signing_input.encode()))
            self.reply(
                200,
                {"token": token, "access_token": token, "expires_in": 300,
                 "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))},
            )

        def log_message(self, fmt, *a):
            print("token-server: " + fmt % a, flush=True)

    ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
