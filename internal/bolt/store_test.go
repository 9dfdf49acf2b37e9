package bolt_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/spartan-messenger/spartan/internal/bolt"
	"github.com/spartan-messenger/spartan/internal/chat"
	"github.com/spartan-messenger/spartan/internal/chat/storetest"
)

// open opens a store in a new temporary directory and closes it at cleanup.
func open(tb testing.TB) (*bolt.Store, string) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "sub", "spartan.db")
	s, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s, path
}

func event(i int) chat.Event {
	return chat.Event{
		ID:         fmt.Sprintf("id-%d", i),
		Kind:       chat.KindText,
		Sender:     "alice",
		Receiver:   "bob",
		SentAt:     time.Date(2026, 11, 23, 12, 0, i, 0, time.UTC),
		Payload:    []byte(fmt.Sprintf("message %d", i)),
		Encryption: 1,
	}
}

func appendN(tb testing.TB, s chat.Store, log string, n int) {
	tb.Helper()
	for i := 1; i <= n; i++ {
		err := s.Update(tb.Context(), func(tx chat.Tx) error {
			_, err := tx.Append(log, event(i))
			return err
		})
		if err != nil {
			tb.Fatalf("append %d: %v", i, err)
		}
	}
}

func seqs(evs []chat.Event) []uint64 {
	out := make([]uint64, len(evs))
	for i, ev := range evs {
		out[i] = ev.Seq
	}
	return out
}

func TestLogReads(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	appendN(t, s, "dm/a\x00b", 10)
	tests := []struct {
		name  string
		read  func(tx chat.Tx) ([]chat.Event, error)
		wants []uint64
	}{
		{"read all", func(tx chat.Tx) ([]chat.Event, error) { return tx.Read("dm/a\x00b", 0, 100, 0) }, []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
		{"read after 7", func(tx chat.Tx) ([]chat.Event, error) { return tx.Read("dm/a\x00b", 7, 100, 0) }, []uint64{8, 9, 10}},
		{"read limited", func(tx chat.Tx) ([]chat.Event, error) { return tx.Read("dm/a\x00b", 2, 3, 0) }, []uint64{3, 4, 5}},
		{"read at head", func(tx chat.Tx) ([]chat.Event, error) { return tx.Read("dm/a\x00b", 10, 3, 0) }, []uint64{}},
		{"read after max", func(tx chat.Tx) ([]chat.Event, error) { return tx.Read("dm/a\x00b", ^uint64(0), 3, 0) }, []uint64{}},
		{"read other log", func(tx chat.Tx) ([]chat.Event, error) { return tx.Read("nope", 0, 3, 0) }, []uint64{}},
		{"newest page", func(tx chat.Tx) ([]chat.Event, error) { return tx.ReadBefore("dm/a\x00b", 0, 4, 0) }, []uint64{7, 8, 9, 10}},
		{"page before 5", func(tx chat.Tx) ([]chat.Event, error) { return tx.ReadBefore("dm/a\x00b", 5, 3, 0) }, []uint64{2, 3, 4}},
		{"page before 3 reaches the start", func(tx chat.Tx) ([]chat.Event, error) { return tx.ReadBefore("dm/a\x00b", 3, 50, 0) }, []uint64{1, 2}},
		{"page before 1", func(tx chat.Tx) ([]chat.Event, error) { return tx.ReadBefore("dm/a\x00b", 1, 50, 0) }, []uint64{}},
		{"page before past head", func(tx chat.Tx) ([]chat.Event, error) { return tx.ReadBefore("dm/a\x00b", 99, 2, 0) }, []uint64{9, 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []chat.Event
			err := s.View(t.Context(), func(tx chat.Tx) error {
				var err error
				got, err = tt.read(tx)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(seqs(got)) != fmt.Sprint(tt.wants) {
				t.Errorf("seqs = %v, want %v", seqs(got), tt.wants)
			}
			for _, ev := range got {
				want := event(int(ev.Seq))
				want.Seq = ev.Seq
				if !equal(ev, want) {
					t.Errorf("event %d = %+v, want %+v", ev.Seq, ev, want)
				}
			}
		})
	}
}

func equal(a, b chat.Event) bool {
	return a.ID == b.ID && a.Seq == b.Seq && a.Kind == b.Kind && a.Sender == b.Sender && a.Receiver == b.Receiver &&
		a.Group == b.Group && a.SentAt.Equal(b.SentAt) && bytes.Equal(a.Payload, b.Payload) &&
		a.Encryption == b.Encryption && a.Note == b.Note
}

func TestEventRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ev   chat.Event
	}{
		{"text", event(1)},
		{"zero event", chat.Event{}},
		{"every field", chat.Event{ID: "x", Kind: chat.KindChatDeclined, Sender: "s", Receiver: "r", Group: "g", SentAt: time.Unix(1, 5).UTC(), Payload: bytes.Repeat([]byte{0, 255}, 1000), Encryption: -3, Note: "é declined", ClientID: "c-1"}},
	}
	s, _ := open(t)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			log := fmt.Sprintf("log-%d", i)
			err := s.Update(t.Context(), func(tx chat.Tx) error {
				_, err := tx.Append(log, tt.ev)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			var got []chat.Event
			_ = s.View(t.Context(), func(tx chat.Tx) error {
				got, err = tx.Read(log, 0, 10, 0)
				return err
			})
			want := tt.ev
			want.Seq = 1
			if err != nil || len(got) != 1 || !equal(got[0], want) {
				t.Errorf("got %+v, %v; want %+v", got, err, want)
			}
		})
	}
}

func TestRecords(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	ctx := t.Context()
	if err := s.View(ctx, func(tx chat.Tx) error {
		if _, err := tx.Get("k"); !errors.Is(err, chat.ErrNoKey) {
			t.Errorf("Get missing = %v, want ErrNoKey", err)
		}
		if err := tx.Put("k", []byte("v")); err == nil {
			t.Error("Put in View succeeded")
		}
		if _, err := tx.Append("l", event(1)); err == nil {
			t.Error("Append in View succeeded")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ctx, func(tx chat.Tx) error { return tx.Put("k", []byte("v")) }); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := s.Update(ctx, func(tx chat.Tx) error {
		if err := tx.Put("k", []byte("changed")); err != nil {
			return err
		}
		if _, err := tx.Append("l", event(1)); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update = %v, want boom", err)
	}
	_ = s.View(ctx, func(tx chat.Tx) error {
		v, err := tx.Get("k")
		head, _ := tx.Head("l")
		if err != nil || string(v) != "v" || head != 0 {
			t.Errorf("after a failed Update: k = %q, %v; head = %d", v, err, head)
		}
		return nil
	})
}

// TestConcurrentUpdates checks that batched commits keep every log gap-free.
func TestConcurrentUpdates(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	const writers, each = 8, 25
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				err := s.Update(t.Context(), func(tx chat.Tx) error {
					if _, err := tx.Append("shared", event(w*each+i)); err != nil {
						return err
					}
					_, err := tx.Append(fmt.Sprintf("own-%d", w), event(i))
					return err
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	_ = s.View(t.Context(), func(tx chat.Tx) error {
		all, err := tx.Read("shared", 0, 1000, 0)
		if err != nil || len(all) != writers*each {
			t.Fatalf("shared log: %d events, %v", len(all), err)
		}
		ids := map[string]bool{}
		for i, ev := range all {
			if ev.Seq != uint64(i+1) || ids[ev.ID] {
				t.Fatalf("event %d: seq %d id %s (gap or duplicate)", i, ev.Seq, ev.ID)
			}
			ids[ev.ID] = true
		}
		return nil
	})
}

func TestReopenKeepsEverything(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "spartan.db")
	s, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, s, "inbox/bob", 5)
	if err := s.Update(t.Context(), func(tx chat.Tx) error { return tx.Put("cursor/bob", []byte("3")) }); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	_ = s.View(t.Context(), func(tx chat.Tx) error {
		evs, err := tx.Read("inbox/bob", 0, 10, 0)
		v, err2 := tx.Get("cursor/bob")
		if err != nil || err2 != nil || len(evs) != 5 || string(v) != "3" {
			t.Errorf("after reopen: %d events (%v), cursor %q (%v)", len(evs), err, v, err2)
		}
		return nil
	})
}

func TestOpenRefuses(t *testing.T) {
	t.Parallel()
	valid := func(t *testing.T, path string) {
		s, err := bolt.Open(path, bolt.Options{})
		if err != nil {
			t.Fatal(err)
		}
		appendN(t, s, "inbox/bob", 50)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		prepare func(t *testing.T, path string)
		want    string
	}{
		{"garbage", func(t *testing.T, path string) {
			writeFile(t, path, bytes.Repeat([]byte("not a database "), 2000))
		}, "the file is damaged or is not a bbolt database"},
		{"meta pages overwritten", func(t *testing.T, path string) {
			valid(t, path)
			raw, _ := os.ReadFile(path)
			for i := range 2 * 4096 {
				raw[i] ^= 0x5a
			}
			writeFile(t, path, raw)
		}, "the file is damaged or is not a bbolt database"},
		{"truncated", func(t *testing.T, path string) {
			valid(t, path)
			raw, _ := os.ReadFile(path)
			writeFile(t, path, raw[:3*4096])
		}, "it was truncated"},
		{"another program's bbolt file", func(t *testing.T, path string) {
			writeFile(t, path, foreignDB(t))
		}, `unexpected bucket "widgets"`},
		{"a directory", func(t *testing.T, path string) {
			if err := os.Mkdir(path, 0o700); err != nil {
				t.Fatal(err)
			}
		}, "not a regular file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "spartan.db")
			tt.prepare(t, path)
			before, _ := os.ReadFile(path)
			s, err := bolt.Open(path, bolt.Options{LockTimeout: 100 * time.Millisecond})
			if err == nil {
				_ = s.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file and say %q", err, tt.want)
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
				t.Error("the file changed")
			}
		})
	}
}

func TestOpenInUse(t *testing.T) {
	t.Parallel()
	_, path := open(t)
	start := time.Now()
	s, err := bolt.Open(path, bolt.Options{LockTimeout: 200 * time.Millisecond})
	if err == nil {
		_ = s.Close()
		t.Fatal("second Open succeeded")
	}
	if !strings.Contains(err.Error(), "in use by another process") || time.Since(start) > 5*time.Second {
		t.Errorf("error %q after %v", err, time.Since(start))
	}
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// foreignDB returns a valid bbolt file made by another program.
func foreignDB(t *testing.T) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "foreign.db")
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucket([]byte("widgets"))
		if err != nil {
			return err
		}
		return b.Put([]byte("w1"), []byte("blue"))
	})
	if err := errors.Join(err, db.Close()); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestConformance: the bolt store passes the store conformance suite.
func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(tb testing.TB) chat.Store { s, _ := open(tb); return s })
}
