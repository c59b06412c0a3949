// A C2SP tlog-tiles client written with Go's golang.org/x/mod/sumdb/tlog
// (Debian's golang-golang-x-mod-dev, GOPATH mode), independent of auditfs's
// Swift code: it reads a tiles directory that `auditfs tiles` wrote, checks
// every tile it reads against the checkpoint's root (tlog.TileHashReader),
// recomputes the tree hash, and checks an inclusion proof of each entry it is
// asked for and a consistency proof from each older size, all computed from
// the tiles alone.
//
//	go run tiles_client.go DIR [-old SIZE]... [INDEX]...
//
// Prints "ok: ..." and exits 0, or names what failed and exits 1.
package main

import (
	"bufio"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/tlog"
)

const height = 8

// tilePath is the C2SP tlog-tiles path (no height element, unlike sumdb's).
func tilePath(level string, n int64, w int) string {
	s := fmt.Sprintf("%03d", n%1000)
	for n /= 1000; n > 0; n /= 1000 {
		s = fmt.Sprintf("x%03d/%s", n%1000, s)
	}
	p := "tile/" + level + "/" + s
	if w < 1<<height {
		p += fmt.Sprintf(".p/%d", w)
	}
	return p
}

type dirReader struct{ dir string }

func (r dirReader) Height() int { return height }

func (r dirReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		if t.H != height {
			return nil, fmt.Errorf("tile of height %d asked for", t.H)
		}
		data, err := os.ReadFile(filepath.Join(r.dir, tilePath(strconv.Itoa(t.L), t.N, t.W)))
		if err != nil {
			return nil, err
		}
		out[i] = data
	}
	return out, nil
}

func (r dirReader) SaveTiles(tiles []tlog.Tile, data [][]byte) {}

func fail(format string, args ...interface{}) {
	fmt.Printf("FAILED: "+format+"\n", args...)
	os.Exit(1)
}

// entry reads entry i from its bundle: uint16 big-endian length || bytes.
func entry(dir string, size, i int64) []byte {
	n := i / (1 << height)
	w := int(size - n*(1<<height))
	if w > 1<<height {
		w = 1 << height
	}
	data, err := os.ReadFile(filepath.Join(dir, tilePath("entries", n, w)))
	if err != nil {
		fail("entry bundle: %v", err)
	}
	k := i % (1 << height)
	for j := int64(0); ; j++ {
		if len(data) < 2 {
			fail("entry bundle %d ends before entry %d", n, k)
		}
		l := int(binary.BigEndian.Uint16(data))
		if len(data) < 2+l {
			fail("entry bundle %d: entry %d is cut", n, j)
		}
		if j == k {
			return data[2 : 2+l]
		}
		data = data[2+l:]
	}
}

func main() {
	if len(os.Args) < 2 {
		fail("usage: tiles_client DIR [-old SIZE]... [INDEX]...")
	}
	dir := os.Args[1]
	f, err := os.Open(filepath.Join(dir, "checkpoint"))
	if err != nil {
		fail("%v", err)
	}
	lines := []string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) < 3 {
		fail("checkpoint has %d lines", len(lines))
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		fail("checkpoint size: %v", err)
	}
	rootBytes, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(rootBytes) != 32 {
		fail("checkpoint root: %v", err)
	}
	var root tlog.Hash
	copy(root[:], rootBytes)
	thr := tlog.TileHashReader(tlog.Tree{N: size, Hash: root}, dirReader{dir})
	got, err := tlog.TreeHash(size, thr)
	if err != nil || got != root {
		fail("tree hash of %d from the tiles: %v %v, checkpoint says %v", size, got, err, root)
	}
	proofs, olds := 0, 0
	args := os.Args[2:]
	for k := 0; k < len(args); k++ {
		if args[k] == "-old" {
			k++
			old, _ := strconv.ParseInt(args[k], 10, 64)
			oldRoot, err := tlog.TreeHash(old, thr)
			if err != nil {
				fail("tree hash of %d: %v", old, err)
			}
			p, err := tlog.ProveTree(size, old, thr)
			if err != nil {
				fail("consistency proof %d -> %d: %v", old, size, err)
			}
			if err := tlog.CheckTree(p, size, root, old, oldRoot); err != nil {
				fail("consistency %d -> %d: %v", old, size, err)
			}
			fmt.Printf("root %d %s\n", old, base64.StdEncoding.EncodeToString(oldRoot[:]))
			olds++
			continue
		}
		i, _ := strconv.ParseInt(args[k], 10, 64)
		e := entry(dir, size, i)
		leaf := tlog.RecordHash(e) // SHA-256(0x00 || entry)
		p, err := tlog.ProveRecord(size, i, thr)
		if err != nil {
			fail("inclusion proof of %d: %v", i, err)
		}
		if err := tlog.CheckRecord(p, size, root, i, leaf); err != nil {
			fail("inclusion of %d: %v", i, err)
		}
		fmt.Printf("entry %d %x\n", i, e)
		proofs++
	}
	fmt.Printf("ok: tree of %d, %d inclusion and %d consistency proofs from the tiles (%s)\n", size, proofs, olds,
		strings.SplitN(lines[0], "\n", 2)[0])
}
