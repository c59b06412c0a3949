"""A C2SP tlog-witness (https://c2sp.org/tlog-witness) for the tests,
written from the specs (tlog-witness, signed-note, tlog-checkpoint,
tlog-cosignature, RFC 9162 consistency proofs), not from auditfs's code.

    w = Witness("witness-a.test/w", logs={origin: [log vkey text]})
    w.start()            # http://127.0.0.1:PORT, serving POST /add-checkpoint
    w.url, w.vkey        # what auditfs is given: --witness-url, --witness-key
    w.mode = "422"       # misbehave: "422" (refuse every proof), "garbage" (200 with junk), "hang" (never answer)
    w.forget()           # a restart with its state lost (the log's next request gets a 409)
    w.stop()

It verifies the log's signature against the pinned keys of the origin (and
ignores signatures of other keys), keeps the latest cosigned size and root
per origin in memory, checks the consistency proof itself, and answers 404,
403, 400, 409 (text/x.tlog.size) and 422 as the spec says. A 200 answer is
one tlog-cosignature/v1 line by its Ed25519 key.
"""
import base64
import hashlib
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

EM_DASH = "\u2014"


def b64decode_strict(text):
    """Standard base64 with padding, the one form that encodes the bytes."""
    raw = base64.b64decode(text, validate=True)
    if base64.b64encode(raw).decode() != text:
        raise ValueError("non-canonical base64")
    return raw


def key_id(name, sig_type, public):
    return hashlib.sha256(name.encode() + b"\n" + bytes([sig_type]) + public).digest()[:4]


def parse_vkey(text):
    """name+hex(key id)+base64(type || key) -> (name, key id, type, key)."""
    name, kid, b64 = text.strip().split("+", 2)
    raw = b64decode_strict(b64)
    if len(kid) != 8 or key_id(name, raw[0], raw[1:]) != bytes.fromhex(kid):
        raise ValueError("key id does not match")
    return name, bytes.fromhex(kid), raw[0], raw[1:]


def parse_note(note):
    """(text, [(name, key id, signature bytes)]) of a signed note."""
    if any(ord(c) < 0x20 and c != "\n" for c in note):
        raise ValueError("control character")
    i = note.rfind("\n\n")
    if i < 0 or not note.endswith("\n"):
        raise ValueError("not a signed note")
    text, sigs = note[:i + 1], []
    for line in note[i + 2:-1].split("\n"):
        dash, name, b64 = line.split(" ")
        raw = b64decode_strict(b64)
        if dash != EM_DASH or not name or "+" in name or len(raw) < 5:
            raise ValueError("bad signature line")
        sigs.append((name, raw[:4], raw[4:]))
    return text, sigs


def hash_children(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_consistency(first, second, first_hash, second_hash, proof):
    """RFC 9162 section 2.1.4.2."""
    if first == second:
        return not proof and first_hash == second_hash
    if first > second or not proof:
        return False
    if first & (first - 1) == 0:   # an exact power of two
        proof = [first_hash] + proof
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = hash_children(c, fr)
            sr = hash_children(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = hash_children(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_hash and sr == second_hash


class Answer(Exception):
    def __init__(self, status, body=b"", content_type="text/plain; charset=utf-8"):
        self.status, self.body, self.content_type = status, body, content_type


class Witness:
    def __init__(self, name, logs):
        self.name = name
        self.key = Ed25519PrivateKey.generate()
        self.public = self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.logs = {origin: [parse_vkey(k) for k in keys] for origin, keys in logs.items()}
        self.state = {}              # origin -> (size, root)
        self.lock = threading.Lock()
        self.mode = "honest"
        self.requests = []           # (status, old size, checkpoint size) of each request answered
        self.server = None

    @property
    def vkey(self):
        return f"{self.name}+{key_id(self.name, 4, self.public).hex()}+{base64.b64encode(bytes([4]) + self.public).decode()}"

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def forget(self):
        with self.lock:
            self.state.clear()

    def cosign(self, text):
        t = int(time.time())
        signed = self.key.sign(f"cosignature/v1\ntime {t}\n".encode() + text.encode())
        blob = key_id(self.name, 4, self.public) + struct.pack(">Q", t) + signed
        return f"{EM_DASH} {self.name} {base64.b64encode(blob).decode()}\n"

    def add_checkpoint(self, body):
        """The status and answer of one add-checkpoint request body."""
        try:
            body = body.decode("utf-8")
            head, note = body.split("\n\n", 1)
            lines = head.split("\n")
            if not lines[0].startswith("old "):
                raise ValueError("no old line")
            old_text = lines[0][4:]
            if not old_text.isdigit() or (old_text != "0" and old_text.startswith("0")):
                raise ValueError("bad old size")
            old = int(old_text)
            proof = [b64decode_strict(l) for l in lines[1:]]
            if len(proof) > 63 or any(len(h) != 32 for h in proof):
                raise ValueError("bad proof")
            text, sigs = parse_note(note)
            origin, size_text, root_b64, *extensions = text[:-1].split("\n")
            if not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")):
                raise ValueError("bad size")
            size, root = int(size_text), b64decode_strict(root_b64)
            if len(root) != 32 or any(e == "" for e in extensions):
                raise ValueError("bad checkpoint")
        except ValueError as e:
            raise Answer(400, f"{e}\n".encode())
        if origin not in self.logs:
            raise Answer(404, b"unknown log\n")
        verified = False
        for name, kid, sig_type, public in self.logs[origin]:
            for sname, skid, sig in sigs:
                if (sname, skid) == (name, kid) and sig_type == 1:
                    try:
                        Ed25519PublicKey.from_public_bytes(public).verify(sig, text.encode())
                        verified = True
                    except InvalidSignature:
                        raise Answer(403, b"a signature of a known key does not verify\n")
        if not verified:
            raise Answer(403, b"not signed by a known key\n")
        if old > size:
            raise Answer(400, b"old size beyond the checkpoint\n")
        with self.lock:
            known_size, known_root = self.state.get(origin, (0, None))
            if old != known_size:
                raise Answer(409, f"{known_size}\n".encode(), "text/x.tlog.size")
            if old == 0 and proof:
                raise Answer(422, b"a proof from size 0\n")
            if old == size and known_root is not None and root != known_root:
                raise Answer(409, f"{known_size}\n".encode(), "text/x.tlog.size")
            if old > 0 and not verify_consistency(old, size, known_root, root, proof):
                raise Answer(422, b"the consistency proof does not verify\n")
            self.state[origin] = (size, root)
            return self.cosign(text)

    def start(self):
        witness = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def answer(self, status, body, content_type):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(min(length, 1 << 20))
                if self.path != "/add-checkpoint":
                    return self.answer(404, b"not found\n", "text/plain")
                mode = witness.mode
                if mode == "hang":
                    time.sleep(60)
                    return
                if mode == "garbage":
                    witness.requests.append((200, None, None))
                    return self.answer(200, b"\x00\x01 not a cosignature\r\n", "text/plain")
                old = body.split(b"\n", 1)[0]
                try:
                    if mode == "422":
                        raise Answer(422, b"refused\n")
                    line = witness.add_checkpoint(body)
                    witness.requests.append((200, old, None))
                    self.answer(200, line.encode(), "text/plain; charset=utf-8")
                except Answer as a:
                    witness.requests.append((a.status, old, None))
                    self.answer(a.status, a.body, a.content_type)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()


def verify_cosignature(note, witness_vkey):
    """The time of the witness's valid cosignature of `note` (for the tests' own check)."""
    name, kid, sig_type, public = parse_vkey(witness_vkey)
    text, sigs = parse_note(note)
    for sname, skid, sig in sigs:
        if (sname, skid) == (name, kid) and sig_type == 4 and len(sig) == 72:
            t = struct.unpack(">Q", sig[:8])[0]
            Ed25519PublicKey.from_public_bytes(public).verify(sig[8:], f"cosignature/v1\ntime {t}\n".encode() + text.encode())
            return t
    raise ValueError("no cosignature")
