"""`auditfs prove --tlog-proof DIR`: each record of a bundle as C2SP
tlog-proof (FORMAT.md "tlog-proof"), verified by a verifier written with Go's
golang.org/x/mod/sumdb/note and sumdb/tlog (Tests/integration/tlog/proof_client.go):
the checkpoint's signature with the signing epoch's key, the leaf rebuilt from
the header in the extra line, the inclusion proof against the signed root."""
import base64
import json

from conftest import auditfs, go_run
from mountlib import Mount

def go_verify(key, *files, tmp_path):
    return go_run("proof_client.go", "-key", key, *files, tmp_path=tmp_path)


def test_each_record_of_a_bundle_as_a_tlog_proof_verifies_with_go(store, place, tmp_path):
    m = Mount(store, place / "mnt", args=["--checkpoint-interval", "0"])
    try:
        with open(m.path / "app.log", "ab", buffering=0) as f:
            for i in range(40):
                f.write(b"line %d\n" % i)
    finally:
        m.unmount()
    proofs = tmp_path / "proofs"
    r = auditfs("prove", store, "/app.log", "-o", tmp_path / "bundle.json", "--tlog-proof", proofs)
    assert r.returncode == 0, r.err
    bundle = json.loads((tmp_path / "bundle.json").read_text())
    files = sorted(proofs.iterdir())
    assert len(files) == len(bundle["records"]) == 41   # the creation and 40 appends
    # The key that signed the checkpoint: the newest certificate's (its chain to the verifier key is verify-bundle's).
    key = next(l.split(" ", 1)[1] for l in bundle["certificates"][-1]["note"].split("\n") if l.startswith("key "))
    c = go_verify(key, *files, tmp_path=tmp_path)
    assert c.returncode == 0, c.out + c.err
    assert len([l for l in c.out.splitlines() if l.startswith("ok: ")]) == 41
    # The text is the spec's: first line, extra = the header, index = the record's sequence number, then the checkpoint.
    first = bundle["records"][1]
    text = (proofs / f"{first['seq']}.tlog-proof").read_text()
    lines = text.split("\n")
    assert lines[0] == "c2sp.org/tlog-proof@v1" and lines[1] == "extra " + first["header"] and lines[2] == f"index {first['seq']}"
    assert lines[3:3 + len(first["inclusion"])] == first["inclusion"]
    assert text.endswith("\n\n" + bundle["checkpoint"])


def test_a_changed_tlog_proof_fails_the_go_verifier(store, place, tmp_path):
    m = Mount(store, place / "mnt", args=["--checkpoint-interval", "0"])
    try:
        (m.path / "a.log").write_bytes(b"alpha\n")
        with open(m.path / "a.log", "ab") as f:
            f.write(b"bravo\n")
    finally:
        m.unmount()
    proofs = tmp_path / "proofs"
    assert auditfs("prove", store, "/a.log", "-o", tmp_path / "b.json", "--tlog-proof", proofs).returncode == 0
    bundle = json.loads((tmp_path / "b.json").read_text())
    key = next(l.split(" ", 1)[1] for l in bundle["certificates"][-1]["note"].split("\n") if l.startswith("key "))
    seq = bundle["records"][-1]["seq"]
    good = (proofs / f"{seq}.tlog-proof").read_text()
    assert go_verify(key, proofs / f"{seq}.tlog-proof", tmp_path=tmp_path).returncode == 0
    lines = good.split("\n")
    header = bytearray(base64.b64decode(lines[1][6:]))
    header[-1] ^= 1
    proof_line = bytearray(base64.b64decode(lines[3]))
    proof_line[0] ^= 1
    mutations = {
        "extra": good.replace(lines[1], "extra " + base64.b64encode(bytes(header)).decode()),
        "index": good.replace(lines[2], f"index {seq + 1}"),
        "hash": good.replace(lines[3], base64.b64encode(bytes(proof_line)).decode()),
        "root": good.replace(bundle["checkpoint"].split("\n")[2], base64.b64encode(b"\0" * 32).decode()),
    }
    for name, text in mutations.items():
        bad = tmp_path / f"{name}.tlog-proof"
        bad.write_text(text)
        c = go_verify(key, bad, tmp_path=tmp_path)
        assert c.returncode == 1 and c.out.startswith("FAILED:"), (name, c.out, c.err)
    # Another store's key does not verify this checkpoint.
    other = tmp_path / "other"
    auditfs("init", other, check=True)
    assert auditfs("checkpoint", other).returncode == 0
    other_key = (other / "verifier-key").read_text().strip()
    c = go_verify(other_key, proofs / f"{seq}.tlog-proof", tmp_path=tmp_path)
    assert c.returncode == 1 and "signature" in c.out, c.out
