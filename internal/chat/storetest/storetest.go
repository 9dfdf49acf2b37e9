// Package storetest is the conformance suite of chat.Store: the contract the
// core relies on, run against every implementation (memory, bolt, the
// cache in front of each, Redis) so that they cannot drift apart.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/spartan-messenger/spartan/internal/chat"
)

// Run runs every case of the suite as a subtest, each against a fresh
// store that open makes (and cleans up with the test).
func Run(t *testing.T, open func(tb testing.TB) chat.Store) {
	t.Helper()
	cases := []struct {
		name string
		fn   func(t *testing.T, s chat.Store)
	}{
		{"records", records},
		{"rollback", rollback},
		{"read-only views", readOnly},
		{"read your writes", readYourWrites},
		{"log reads", logReads},
		{"byte-bounded reads", byteBounded},
		{"trim", trim},
		{"concurrent appenders", concurrentAppenders},
		{"cancelled context", cancelled},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t, open(t))
		})
	}
}

func update(tb testing.TB, s chat.Store, fn func(tx chat.Tx) error) {
	tb.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		tb.Fatalf("Update: %v", err)
	}
}

func view(tb testing.TB, s chat.Store, fn func(tx chat.Tx) error) {
	tb.Helper()
	if err := s.View(context.Background(), fn); err != nil {
		tb.Fatalf("View: %v", err)
	}
}

func event(i int) chat.Event {
	return chat.Event{ID: fmt.Sprint("e", i), Kind: chat.KindText, Sender: "a", Receiver: "b", Payload: fmt.Appendf(nil, "payload %d", i)}
}

func appendN(tb testing.TB, s chat.Store, log string, n int) {
	tb.Helper()
	update(tb, s, func(tx chat.Tx) error {
		for i := range n {
			if _, err := tx.Append(log, event(i)); err != nil {
				return err
			}
		}
		return nil
	})
}

func seqs(evs []chat.Event) []uint64 {
	out := []uint64{}
	for _, ev := range evs {
		out = append(out, ev.Seq)
	}
	return out
}

func records(t *testing.T, s chat.Store) {
	view(t, s, func(tx chat.Tx) error {
		if _, err := tx.Get("k"); !errors.Is(err, chat.ErrNoKey) {
			t.Errorf("Get of a missing key: %v, want ErrNoKey", err)
		}
		return nil
	})
	update(t, s, func(tx chat.Tx) error {
		if err := tx.Put("k", []byte("v1")); err != nil {
			return err
		}
		if err := tx.Put("gone", []byte("x")); err != nil {
			return err
		}
		return tx.Put("empty", nil)
	})
	update(t, s, func(tx chat.Tx) error {
		if err := tx.Put("k", []byte("v2")); err != nil {
			return err
		}
		return tx.Delete("gone")
	})
	view(t, s, func(tx chat.Tx) error {
		if v, err := tx.Get("k"); err != nil || string(v) != "v2" {
			t.Errorf("Get k = %q, %v; want v2", v, err)
		}
		if _, err := tx.Get("gone"); !errors.Is(err, chat.ErrNoKey) {
			t.Errorf("Get of a deleted key: %v, want ErrNoKey", err)
		}
		if v, err := tx.Get("empty"); err != nil || len(v) != 0 {
			t.Errorf("Get of an empty record = %q, %v; want it, empty", v, err)
		}
		return nil
	})
}

func rollback(t *testing.T, s chat.Store) {
	update(t, s, func(tx chat.Tx) error { return tx.Put("k", []byte("before")) })
	appendN(t, s, "log", 2)
	boom := errors.New("boom")
	err := s.Update(context.Background(), func(tx chat.Tx) error {
		if err := tx.Put("k", []byte("after")); err != nil {
			return err
		}
		if err := tx.Delete("k"); err != nil {
			return err
		}
		if _, err := tx.Append("log", event(9)); err != nil {
			return err
		}
		if err := tx.Trim("log", 3); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update = %v, want fn's error", err)
	}
	view(t, s, func(tx chat.Tx) error {
		v, err := tx.Get("k")
		head, _ := tx.Head("log")
		evs, _ := tx.Read("log", 0, 10, 0)
		if err != nil || string(v) != "before" || head != 2 || !slices.Equal(seqs(evs), []uint64{1, 2}) {
			t.Errorf("after a failed Update: k = %q (%v), head %d, events %v; want nothing changed", v, err, head, seqs(evs))
		}
		return nil
	})
}

func readOnly(t *testing.T, s chat.Store) {
	view(t, s, func(tx chat.Tx) error {
		for name, err := range map[string]error{
			"Put":    tx.Put("k", []byte("v")),
			"Delete": tx.Delete("k"),
			"Trim":   tx.Trim("log", 5),
		} {
			if !errors.Is(err, chat.ErrReadOnly) {
				t.Errorf("%s in View: %v, want ErrReadOnly", name, err)
			}
		}
		if _, err := tx.Append("log", event(1)); !errors.Is(err, chat.ErrReadOnly) {
			t.Errorf("Append in View: %v, want ErrReadOnly", err)
		}
		return nil
	})
	view(t, s, func(tx chat.Tx) error {
		if _, err := tx.Get("k"); !errors.Is(err, chat.ErrNoKey) {
			t.Errorf("a refused Put left something: %v", err)
		}
		if head, _ := tx.Head("log"); head != 0 {
			t.Errorf("a refused Append left head %d", head)
		}
		return nil
	})
}

func readYourWrites(t *testing.T, s chat.Store) {
	appendN(t, s, "log", 3)
	update(t, s, func(tx chat.Tx) error {
		if err := tx.Put("k", []byte("mine")); err != nil {
			return err
		}
		if v, err := tx.Get("k"); err != nil || string(v) != "mine" {
			t.Errorf("Get after Put in the same transaction = %q, %v", v, err)
		}
		if err := tx.Delete("k"); err != nil {
			return err
		}
		if _, err := tx.Get("k"); !errors.Is(err, chat.ErrNoKey) {
			t.Errorf("Get after Delete in the same transaction: %v", err)
		}
		seq, err := tx.Append("log", event(3))
		if err != nil || seq != 4 {
			t.Errorf("Append = %d, %v; want 4", seq, err)
		}
		if head, err := tx.Head("log"); err != nil || head != 4 {
			t.Errorf("Head after Append = %d, %v; want 4", head, err)
		}
		evs, err := tx.Read("log", 2, 10, 0)
		if err != nil || !slices.Equal(seqs(evs), []uint64{3, 4}) || evs[1].ID != "e3" {
			t.Errorf("Read after Append = %v, %v; want 3, 4 (the new one)", seqs(evs), err)
		}
		evs, err = tx.ReadBefore("log", 0, 2, 0)
		if err != nil || !slices.Equal(seqs(evs), []uint64{3, 4}) {
			t.Errorf("ReadBefore after Append = %v, %v; want 3, 4", seqs(evs), err)
		}
		return nil
	})
}

func logReads(t *testing.T, s chat.Store) {
	appendN(t, s, "log", 10)
	tests := []struct {
		name string
		read func(tx chat.Tx) ([]chat.Event, error)
		want []uint64
	}{
		{"all", func(tx chat.Tx) ([]chat.Event, error) { return tx.Read("log", 0, 100, 0) }, []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
		{"after 7", func(tx chat.Tx) ([]chat.Event, error) { return tx.Read("log", 7, 100, 0) }, []uint64{8, 9, 10}},
		{"limited", func(tx chat.Tx) ([]chat.Event, error) { return tx.Read("log", 2, 3, 0) }, []uint64{3, 4, 5}},
		{"at head", func(tx chat.Tx) ([]chat.Event, error) { return tx.Read("log", 10, 3, 0) }, []uint64{}},
		{"after the maximum", func(tx chat.Tx) ([]chat.Event, error) { return tx.Read("log", ^uint64(0), 3, 0) }, []uint64{}},
		{"another log", func(tx chat.Tx) ([]chat.Event, error) { return tx.Read("nope", 0, 3, 0) }, []uint64{}},
		{"newest page", func(tx chat.Tx) ([]chat.Event, error) { return tx.ReadBefore("log", 0, 4, 0) }, []uint64{7, 8, 9, 10}},
		{"page before 5", func(tx chat.Tx) ([]chat.Event, error) { return tx.ReadBefore("log", 5, 3, 0) }, []uint64{2, 3, 4}},
		{"page reaching the start", func(tx chat.Tx) ([]chat.Event, error) { return tx.ReadBefore("log", 3, 50, 0) }, []uint64{1, 2}},
		{"page before 1", func(tx chat.Tx) ([]chat.Event, error) { return tx.ReadBefore("log", 1, 50, 0) }, []uint64{}},
		{"page before past the head", func(tx chat.Tx) ([]chat.Event, error) { return tx.ReadBefore("log", 99, 2, 0) }, []uint64{9, 10}},
	}
	view(t, s, func(tx chat.Tx) error {
		for _, tt := range tests {
			evs, err := tt.read(tx)
			if err != nil || !slices.Equal(seqs(evs), tt.want) {
				t.Errorf("%s: %v, %v; want %v", tt.name, seqs(evs), err, tt.want)
			}
		}
		evs, err := tx.Read("log", 4, 1, 0)
		if err != nil || len(evs) != 1 || !equal(evs[0], withSeq(event(4), 5)) {
			t.Errorf("event 5 reads back as %+v, %v; want %+v", evs, err, withSeq(event(4), 5))
		}
		return nil
	})
}

func withSeq(ev chat.Event, seq uint64) chat.Event {
	ev.Seq = seq
	return ev
}

// equal compares the fields a store keeps.
func equal(a, b chat.Event) bool {
	return a.ID == b.ID && a.Seq == b.Seq && a.Kind == b.Kind && a.Sender == b.Sender && a.Receiver == b.Receiver &&
		a.Group == b.Group && a.SentAt.Equal(b.SentAt) && string(a.Payload) == string(b.Payload) &&
		a.Encryption == b.Encryption && a.Note == b.Note && a.ClientID == b.ClientID
}

func byteBounded(t *testing.T, s chat.Store) {
	update(t, s, func(tx chat.Tx) error {
		for i := range 10 {
			ev := event(i)
			ev.Payload = make([]byte, 1000)
			if _, err := tx.Append("log", ev); err != nil {
				return err
			}
		}
		return nil
	})
	size := func() int { ev := event(0); ev.Payload = make([]byte, 1000); return ev.Size() }()
	view(t, s, func(tx chat.Tx) error {
		evs, err := tx.Read("log", 0, 100, 3*size)
		if err != nil || !slices.Equal(seqs(evs), []uint64{1, 2, 3}) {
			t.Errorf("Read bounded to 3 events' bytes: %v, %v", seqs(evs), err)
		}
		evs, err = tx.ReadBefore("log", 0, 100, 3*size)
		if err != nil || !slices.Equal(seqs(evs), []uint64{8, 9, 10}) {
			t.Errorf("ReadBefore bounded to 3 events' bytes: %v, %v", seqs(evs), err)
		}
		evs, err = tx.Read("log", 0, 100, 1)
		if err != nil || !slices.Equal(seqs(evs), []uint64{1}) {
			t.Errorf("Read bounded below one event: %v, %v; want the first anyway", seqs(evs), err)
		}
		return nil
	})
}

func trim(t *testing.T, s chat.Store) {
	appendN(t, s, "log", 6)
	update(t, s, func(tx chat.Tx) error { return tx.Trim("log", 4) })
	view(t, s, func(tx chat.Tx) error {
		evs, _ := tx.Read("log", 0, 10, 0)
		back, _ := tx.ReadBefore("log", 0, 10, 0)
		head, _ := tx.Head("log")
		if !slices.Equal(seqs(evs), []uint64{4, 5, 6}) || !slices.Equal(seqs(back), []uint64{4, 5, 6}) || head != 6 {
			t.Errorf("after trimming below 4: read %v, back %v, head %d", seqs(evs), seqs(back), head)
		}
		return nil
	})
	update(t, s, func(tx chat.Tx) error { return tx.Trim("log", 100) })
	appendN(t, s, "log", 1)
	view(t, s, func(tx chat.Tx) error {
		evs, _ := tx.Read("log", 0, 10, 0)
		if !slices.Equal(seqs(evs), []uint64{7}) {
			t.Errorf("after trimming everything and appending: %v, want [7]: numbering goes on", seqs(evs))
		}
		return nil
	})
}

// concurrentAppenders: writers appending to one log at once leave it
// gap-free, each event once, each writer's events in its order.
func concurrentAppenders(t *testing.T, s chat.Store) {
	const writers, each = 8, 25
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				err := s.Update(context.Background(), func(tx chat.Tx) error {
					_, err := tx.Append("shared", chat.Event{ID: fmt.Sprintf("w%d-%03d", w, i)})
					return err
				})
				if err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
			}
		})
	}
	wg.Wait()
	view(t, s, func(tx chat.Tx) error {
		evs, err := tx.Read("shared", 0, writers*each+10, 0)
		if err != nil || len(evs) != writers*each {
			t.Fatalf("%d events (%v), want %d", len(evs), err, writers*each)
		}
		last := map[string]string{}
		for i, ev := range evs {
			if ev.Seq != uint64(i+1) {
				t.Fatalf("event %d has seq %d: a gap or a duplicate", i+1, ev.Seq)
			}
			w := ev.ID[:2]
			if ev.ID <= last[w] {
				t.Fatalf("%s after %s: a writer's events out of order", ev.ID, last[w])
			}
			last[w] = ev.ID
		}
		return nil
	})
}

func cancelled(t *testing.T, s chat.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ran := false
	err := s.Update(ctx, func(tx chat.Tx) error {
		ran = true
		return tx.Put("k", []byte("v"))
	})
	if err == nil {
		t.Fatal("Update with a cancelled context succeeded")
	}
	if errors.Is(err, context.Canceled) && ran {
		// A store may notice the context late, but must not commit.
		t.Log("fn ran before the context was noticed")
	}
	view(t, s, func(tx chat.Tx) error {
		if _, err := tx.Get("k"); !errors.Is(err, chat.ErrNoKey) {
			t.Errorf("an Update with a cancelled context committed: %v", err)
		}
		return nil
	})
	if err := s.View(ctx, func(chat.Tx) error { return nil }); err == nil {
		t.Error("View with a cancelled context succeeded")
	}
}
