package main_test

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/spartan-messenger/spartan/internal/clitest"
	"github.com/spartan-messenger/spartan/internal/redistest"
)

// TestServerNeverSeesPlaintext: two CLIs chat (a message waiting for the
// receiver's key, one each way live, one stored for a receiver offline),
// then every file the server's store wrote (the bolt file; Redis's
// append-only file) and the server's debug log are searched for the texts:
// none is there. That the search can find anything is shown by the user
// names, which are there.
func TestServerNeverSeesPlaintext(t *testing.T) {
	t.Parallel()
	bin := binaries(t)
	tests := []struct {
		name  string
		store func(t *testing.T) (config, dir string)
	}{
		{"bolt", func(t *testing.T) (string, string) {
			return "", "" // the server's own directory, data/spartan.db
		}},
		{"redis", func(t *testing.T) (string, string) {
			r := redistest.StartDurable(t) // an append-only file of every write
			return "store: {kind: redis}\nredis: {url: " + r.URL + "}\n", r.Dir()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			extra, storeDir := tt.store(t)
			serverDir := t.TempDir()
			if storeDir == "" {
				storeDir = serverDir
			}
			log := clitest.NewScreen() // a buffer safe to write while read
			addr := runServer(t, bin, serverDir, extra+"log_level: debug\n", log)
			marker := "MARKER-" + hex.EncodeToString(random(t, 8))
			texts := []string{marker + " waits for a key", marker + " live", marker + " back", marker + " stored"}

			aliceConfig, bobConfig := t.TempDir(), t.TempDir()
			alice := startCLIIn(t, bin, aliceConfig, "alice", "-server", addr)
			alice.typeLine(t, "bob")
			alice.screen.Expect(t, wait, "bob has not set up encryption yet")
			alice.typeLine(t, texts[0])
			bob := startCLIIn(t, bin, bobConfig, "bob", "-server", addr)
			bob.screen.Expect(t, wait, "alice is requesting to chat with you")
			bob.typeLine(t, "yes")
			bob.screen.Expect(t, wait, "[alice] "+texts[0]+"\n")
			alice.typeLine(t, texts[1])
			bob.screen.Expect(t, wait, "[alice] "+texts[1]+"\n")
			bob.typeLine(t, texts[2])
			alice.screen.Expect(t, wait, "[bob] "+texts[2]+"\n")
			bob.typeLine(t, "/quit")
			bob.wantExit(t, 0)
			alice.screen.Expect(t, wait, "bob is offline")
			alice.typeLine(t, texts[3])
			alice.typeLine(t, "/history 1") // sent: the server has it
			alice.screen.Expect(t, wait, "The last message with bob:", "[alice] "+texts[3]+"\n")
			bob = startCLIIn(t, bin, bobConfig, "bob", "-server", addr)
			bob.screen.Expect(t, wait, "[alice] "+texts[3]+"\n")
			bob.screen.Lacks(t, "WARNING")
			alice.screen.Lacks(t, "WARNING")

			stored := readAll(t, storeDir)
			for _, want := range []string{"alice", "bob"} {
				if !bytes.Contains(stored, []byte(want)) {
					t.Fatalf("the store's files (%d bytes) lack %q: the search looks in the wrong place", len(stored), want)
				}
			}
			if !bytes.Contains([]byte(log.String()), []byte("connection new")) {
				t.Fatalf("the server's debug log lacks its connections:\n%s", []byte(log.String()))
			}
			for where, b := range map[string][]byte{"the store's files": stored, "the server's log": []byte(log.String())} {
				if i := bytes.Index(b, []byte(marker)); i >= 0 {
					t.Errorf("%s hold a text sent end-to-end encrypted: ...%q...", where, b[max(i-40, 0):min(i+60, len(b))])
				}
			}
		})
	}
}

// random returns n random bytes.
func random(tb testing.TB, n int) []byte {
	tb.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	return b
}

// readAll concatenates every file under dir.
func readAll(tb testing.TB, dir string) []byte {
	tb.Helper()
	var all []byte
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		all = append(all, b...)
		return nil
	})
	if err != nil {
		tb.Fatalf("read %s: %v", dir, err)
	}
	if len(all) == 0 {
		tb.Fatalf("%s holds no file", dir)
	}
	return all
}
