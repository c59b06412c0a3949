"""Errors that keep their cause: a failing command still runs its cleanup
(the store it opened is closed), and a proof that fails names the values it
compared, not only that they differ."""
import base64
import hashlib
import json

from conftest import AUDITFS_CHECK, auditfs, run


def test_a_checkpoint_failing_after_the_store_is_open_still_closes_the_store(store, tmp_path):
    """The keys directory is missing: the store was already opened for
    writing. The failure is thrown, not exited on, so the command's cleanup
    runs: closing the store writes cache/index (as a checkpoint that works
    does), and the next writer opens the store at once."""
    auditfs("append", store, "/app/a.log", input="one\n", check=True)
    (store / "cache" / "index").unlink()
    p = auditfs("checkpoint", store, "--keys", tmp_path / "no-keys")
    assert p.returncode == 2, p.err
    assert p.err == f"auditfs: no signing key directory {tmp_path / 'no-keys'} (made by auditfs init)\n", p.err
    assert p.out == ""
    assert (store / "cache" / "index").exists(), "the failing command did not close the store"
    auditfs("append", store, "/app/a.log", input="two\n", check=True)
    assert auditfs("verify", store).returncode == 0


def bundle_of(store, tmp_path):
    for i in range(3):
        auditfs("append", store, "/app/a.log", input=f"line {i}\n", check=True)
    auditfs("checkpoint", store, check=True)
    path = tmp_path / "bundle.json"
    auditfs("prove", store, "/app/a.log", "-o", path, check=True)
    return json.loads(path.read_text())


def verify_bundle(store, tmp_path, b):
    path = tmp_path / "forged.json"
    path.write_text(json.dumps(b))
    return run(AUDITFS_CHECK, "verify-bundle", path, "--key", store / "verifier-key")


def test_a_forged_payload_in_a_bundle_is_named_with_both_digests(store, tmp_path):
    b = bundle_of(store, tmp_path)
    entry = b["records"][2]
    genuine = base64.b64decode(entry["payload"])
    forged = b"LINE 1\n"
    assert len(forged) == len(genuine)
    entry["payload"] = base64.b64encode(forged).decode()
    v = verify_bundle(store, tmp_path, b)
    assert v.returncode == 1, v.out + v.err
    assert v.out == (f"INVALID: record {entry['seq']}: the payload does not match its digest (the header says "
                     f"{len(genuine)} bytes of digest {hashlib.sha256(genuine).hexdigest()}, the bundle holds "
                     f"{len(forged)} bytes of digest {hashlib.sha256(forged).hexdigest()})\n"), v.out


def test_a_forged_consistency_proof_is_named_with_the_root_it_leads_to(store, tmp_path):
    """The checkpoint must extend the tree head epoch 1's certificate names
    (a consistency proof from it to the checkpoint): a proof changed in its
    last hash leads to another root, and both roots are named."""
    b = bundle_of(store, tmp_path)
    cert = b["certificates"][0]
    assert cert["consistency"], "epoch 1's tree head is the checkpoint's: the bundle holds no proof to forge"
    cert["consistency"][-1] = base64.b64encode(bytes(32)).decode()
    signed_root = base64.b64decode(b["checkpoint"].splitlines()[2]).hex()
    v = verify_bundle(store, tmp_path, b)
    assert v.returncode == 1, v.out + v.err
    prefix = ("INVALID: the checkpoint does not extend the tree certified for epoch 1: consistency proof does not lead "
              f"to the new root {signed_root} (it leads to ")
    assert v.out.startswith(prefix) and v.out.endswith(")\n"), v.out
    led_to = v.out[len(prefix):-2]
    assert len(led_to) == 64 and led_to != signed_root, v.out
