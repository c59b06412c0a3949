// A checker of auditfs proof bundles written with Go's golang.org/x/mod/sumdb/note
// and sumdb/tlog (Debian's golang-golang-x-mod-dev, GOPATH mode) and the
// standard library's crypto/ed25519, independent of auditfs's Swift code:
//
//	go run bundle_check.go BUNDLE VERIFIER-KEY LOG-KEY QUORUM [WITNESS-KEY]...
//
// It checks, with x/mod's note.Open, that the key chain (each certificate
// signed by the previous key, from the verifier key) leads to a key that
// signed the checkpoint, and that the log key signed it too; with x/mod's
// tlog.CheckRecord, each record's inclusion proof against the checkpoint's
// root (leaf = SHA-256(0x00 || SHA-256(header)), tlog.RecordHash); with
// tlog.CheckTree, each certificate's consistency proof; and that at least
// QUORUM of the witness keys (C2SP tlog-cosignature/v1, type 0x04, which
// x/mod's note does not know) cosigned the checkpoint, verified with
// crypto/ed25519. Prints "ok: ..." and exits 0, or names what failed and
// exits 1.
package main

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type bundle struct {
	Format       string   `json:"format"`
	Checkpoint   string   `json:"checkpoint"`
	Cosignatures []string `json:"cosignatures"`
	Certificates []struct {
		Note        string   `json:"note"`
		Consistency []string `json:"consistency"`
	} `json:"certificates"`
	Records []struct {
		Seq       int64    `json:"seq"`
		Header    string   `json:"header"`
		Inclusion []string `json:"inclusion"`
	} `json:"records"`
}

func fail(format string, args ...any) {
	fmt.Printf("FAILED: "+format+"\n", args...)
	os.Exit(1)
}

func hashOf(s string) tlog.Hash {
	raw, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil || len(raw) != 32 {
		fail("bad hash %q", s)
	}
	var h tlog.Hash
	copy(h[:], raw)
	return h
}

func hashes(list []string) []tlog.Hash {
	out := make([]tlog.Hash, len(list))
	for i, s := range list {
		out[i] = hashOf(s)
	}
	return out
}

func open(msg, key string) *note.Note {
	v, err := note.NewVerifier(strings.TrimSpace(key))
	if err != nil {
		fail("verifier key %q: %v", key, err)
	}
	n, err := note.Open([]byte(msg), note.VerifierList(v))
	if err != nil {
		fail("note not signed by %s: %v", v.Name(), err)
	}
	return n
}

// cosigned reports whether the witness key (name+id+base64(0x04 || key)) cosigned text in msg.
func cosigned(msg, text, wkey string) bool {
	parts := strings.SplitN(strings.TrimSpace(wkey), "+", 3)
	raw, err := base64.StdEncoding.DecodeString(parts[2])
	if len(parts) != 3 || err != nil || len(raw) != 33 || raw[0] != 4 {
		fail("witness key %q", wkey)
	}
	id, _ := strconv.ParseUint(parts[1], 16, 32)
	for _, line := range strings.Split(msg, "\n") {
		f := strings.Split(line, " ")
		if len(f) != 3 || f[0] != "\u2014" || f[1] != parts[0] {
			continue
		}
		sig, err := base64.StdEncoding.Strict().DecodeString(f[2])
		if err != nil || len(sig) != 4+8+64 || uint64(binary.BigEndian.Uint32(sig)) != id {
			continue
		}
		t := binary.BigEndian.Uint64(sig[4:12])
		signed := []byte(fmt.Sprintf("cosignature/v1\ntime %d\n", t) + text)
		if ed25519.Verify(raw[1:], signed, sig[12:]) {
			return true
		}
		fail("the cosignature of %s does not verify", parts[0])
	}
	return false
}

func main() {
	if len(os.Args) < 5 {
		fail("usage: bundle_check BUNDLE VERIFIER-KEY LOG-KEY QUORUM [WITNESS-KEY]...")
	}
	data, err := os.ReadFile(os.Args[1])
	if err != nil {
		fail("%v", err)
	}
	var b bundle
	if err := json.Unmarshal(data, &b); err != nil {
		fail("not JSON: %v", err)
	}
	readKey := func(arg string) string {
		if d, err := os.ReadFile(arg); err == nil {
			return strings.TrimSpace(string(d))
		}
		return arg
	}
	// The checkpoint: signed by the log key, and by the key the chain ends at.
	logSigned := open(b.Checkpoint, readKey(os.Args[3]))
	lines := strings.Split(strings.TrimSuffix(logSigned.Text, "\n"), "\n")
	if len(lines) < 3 {
		fail("not a checkpoint: %q", logSigned.Text)
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		fail("checkpoint size %q", lines[1])
	}
	root := hashOf(lines[2])
	key := readKey(os.Args[2])
	for i, c := range b.Certificates {
		cert := open(c.Note, key)
		var certSize int64 = -1
		var certRoot tlog.Hash
		next := ""
		for _, l := range strings.Split(cert.Text, "\n") {
			if f := strings.Split(l, " "); f[0] == "tree" && len(f) == 3 {
				certSize, _ = strconv.ParseInt(f[1], 10, 64)
				certRoot = hashOf(f[2])
			} else if f[0] == "key" && len(f) == 2 {
				next = f[1]
			}
		}
		if certSize < 0 || next == "" {
			fail("certificate %d has no tree or key line", i+1)
		}
		if certSize == size && certRoot != root {
			fail("certificate %d names the checkpoint's size %d with another root", i+1, size)
		}
		if certSize > 0 && certSize < size {
			if err := tlog.CheckTree(hashes(c.Consistency), size, root, certSize, certRoot); err != nil {
				fail("certificate %d: the consistency proof from %d to %d: %v", i+1, certSize, size, err)
			}
		}
		key = next
	}
	open(b.Checkpoint, key)
	// Each record in the checkpoint's tree.
	for _, r := range b.Records {
		header, err := base64.StdEncoding.Strict().DecodeString(r.Header)
		if err != nil {
			fail("record %d: bad header", r.Seq)
		}
		recordHash := sha256.Sum256(header)
		if err := tlog.CheckRecord(hashes(r.Inclusion), size, root, r.Seq, tlog.RecordHash(recordHash[:])); err != nil {
			fail("record %d: inclusion in the tree of %d: %v", r.Seq, size, err)
		}
	}
	// N of M witnesses.
	quorum, err := strconv.Atoi(os.Args[4])
	if err != nil {
		fail("quorum %q", os.Args[4])
	}
	msg := b.Checkpoint + strings.Join(b.Cosignatures, "")
	count := 0
	for _, w := range os.Args[5:] {
		if cosigned(msg, logSigned.Text, readKey(w)) {
			count++
		}
	}
	if count < quorum {
		fail("cosigned by %d of %d witness key(s), %d required", count, len(os.Args[5:]), quorum)
	}
	fmt.Printf("ok: checkpoint %s size %d, %d certificate(s), %d record(s) included, cosigned by %d of %d witness key(s)\n",
		lines[0], size, len(b.Certificates), len(b.Records), count, len(os.Args[5:]))
}
