// A C2SP tlog-proof verifier written with Go's golang.org/x/mod/sumdb/note
// and sumdb/tlog (Debian's golang-golang-x-mod-dev, GOPATH mode),
// independent of auditfs's Swift code. It parses a .tlog-proof file, checks
// the checkpoint's signature with the key given (a C2SP signed-note verifier
// key), rebuilds the leaf from the extra data as auditfs defines it
// (SHA-256(0x00 || SHA-256(header))), and checks the inclusion proof against
// the signed root.
//
//	go run proof_client.go -key VKEY FILE...
//
// Prints "ok: ..." per file and exits 0, or "FAILED: ..." and exits 1.
package main

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func fail(format string, args ...interface{}) {
	fmt.Printf("FAILED: "+format+"\n", args...)
	os.Exit(1)
}

func check(file string, verifier note.Verifier) string {
	data, err := os.ReadFile(file)
	if err != nil {
		fail("%v", err)
	}
	text := string(data)
	lines := strings.Split(text, "\n")
	if len(lines) < 4 || lines[0] != "c2sp.org/tlog-proof@v1" {
		fail("%s: not a tlog-proof", file)
	}
	k := 1
	var extra []byte
	if strings.HasPrefix(lines[k], "extra ") {
		extra, err = base64.StdEncoding.DecodeString(lines[k][6:])
		if err != nil {
			fail("%s: extra: %v", file, err)
		}
		k++
	}
	if !strings.HasPrefix(lines[k], "index ") {
		fail("%s: no index line", file)
	}
	index, err := strconv.ParseInt(lines[k][6:], 10, 64)
	if err != nil {
		fail("%s: index: %v", file, err)
	}
	k++
	var proof tlog.RecordProof
	for ; k < len(lines) && lines[k] != ""; k++ {
		b, err := base64.StdEncoding.DecodeString(lines[k])
		if err != nil || len(b) != 32 {
			fail("%s: proof line %q", file, lines[k])
		}
		var h tlog.Hash
		copy(h[:], b)
		proof = append(proof, h)
	}
	checkpoint := strings.Join(lines[k+1:], "\n")
	n, err := note.Open([]byte(checkpoint), note.VerifierList(verifier))
	if err != nil {
		fail("%s: checkpoint signature: %v", file, err)
	}
	body := strings.Split(n.Text, "\n")
	size, err := strconv.ParseInt(body[1], 10, 64)
	if err != nil {
		fail("%s: checkpoint size: %v", file, err)
	}
	rootBytes, err := base64.StdEncoding.DecodeString(body[2])
	if err != nil || len(rootBytes) != 32 {
		fail("%s: checkpoint root", file)
	}
	var root tlog.Hash
	copy(root[:], rootBytes)
	entry := sha256.Sum256(extra)
	leaf := tlog.RecordHash(entry[:])
	if err := tlog.CheckRecord(proof, size, root, index, leaf); err != nil {
		fail("%s: inclusion of %d in %d: %v", file, index, size, err)
	}
	return fmt.Sprintf("ok: %s: record %d in the tree of %d signed by %s", file, index, size, n.Sigs[0].Name)
}

func main() {
	if len(os.Args) < 4 || os.Args[1] != "-key" {
		fail("usage: proof_client -key VKEY FILE...")
	}
	verifier, err := note.NewVerifier(os.Args[2])
	if err != nil {
		fail("key: %v", err)
	}
	for _, file := range os.Args[3:] {
		fmt.Println(check(file, verifier))
	}
}
