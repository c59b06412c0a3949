"""Errors that keep their cause: a failing command still runs its cleanup
(the store it opened is closed)."""
from conftest import auditfs


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
