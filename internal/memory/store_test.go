package memory_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"

	"github.com/spartan-messenger/spartan/internal/chat"
	"github.com/spartan-messenger/spartan/internal/chat/storetest"
	"github.com/spartan-messenger/spartan/internal/memory"
)

// The store and broker must satisfy the core's interfaces.
var (
	_ chat.Store  = (*memory.Store)(nil)
	_ chat.Broker = (*memory.Broker)(nil)
)

// storeWithLog returns a store whose log "log" holds events with ids e1..en.
func storeWithLog(tb testing.TB, n int) *memory.Store {
	tb.Helper()
	s := memory.NewStore()
	err := s.Update(context.Background(), func(tx chat.Tx) error {
		for i := 1; i <= n; i++ {
			if _, err := tx.Append("log", chat.Event{ID: fmt.Sprintf("e%d", i), Payload: []byte{byte(i)}}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("fill log: %v", err)
	}
	return s
}

func seqs(evs []chat.Event) []uint64 {
	out := []uint64{}
	for _, ev := range evs {
		out = append(out, ev.Seq)
	}
	return out
}

func TestUpdateRolledBackLeavesNothing(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := storeWithLog(t, 2)
	errBoom := errors.New("boom")
	err := s.Update(ctx, func(tx chat.Tx) error {
		if err := tx.Put("k", []byte("v")); err != nil {
			return err
		}
		for _, log := range []string{"log", "other"} {
			if _, err := tx.Append(log, chat.Event{ID: "x"}); err != nil {
				return err
			}
		}
		// The transaction sees its own writes before it ends.
		if got, err := tx.Get("k"); err != nil || string(got) != "v" {
			t.Errorf("Get in tx = %q, %v; want v", got, err)
		}
		if head, _ := tx.Head("log"); head != 3 {
			t.Errorf("Head in tx = %d, want 3", head)
		}
		if evs, _ := tx.Read("log", 2, 10, 0); len(evs) != 1 || evs[0].ID != "x" || evs[0].Seq != 3 {
			t.Errorf("Read in tx = %+v, want the appended event at 3", evs)
		}
		if evs, _ := tx.ReadBefore("log", 0, 2, 0); !slices.Equal(seqs(evs), []uint64{2, 3}) {
			t.Errorf("ReadBefore in tx = %v, want [2 3]", seqs(evs))
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("Update = %v, want the function's error", err)
	}
	err = s.View(ctx, func(tx chat.Tx) error {
		if _, err := tx.Get("k"); !errors.Is(err, chat.ErrNoKey) {
			t.Errorf("Get after rollback: %v, want ErrNoKey", err)
		}
		for log, want := range map[string]uint64{"log": 2, "other": 0} {
			if head, _ := tx.Head(log); head != want {
				t.Errorf("Head(%s) after rollback = %d, want %d", log, head, want)
			}
		}
		if evs, _ := tx.Read("log", 0, 10, 0); !slices.Equal(seqs(evs), []uint64{1, 2}) {
			t.Errorf("Read after rollback = %v, want [1 2]", seqs(evs))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The next commit continues the log where the committed part ends.
	err = s.Update(ctx, func(tx chat.Tx) error {
		seq, err := tx.Append("log", chat.Event{ID: "y", Seq: 99})
		if seq != 3 {
			t.Errorf("Append after rollback = %d, want 3 (the given Seq is ignored)", seq)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestCommittedUpdateIsVisible(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := memory.NewStore()
	payload := []byte("hello")
	value := []byte("v1")
	err := s.Update(ctx, func(tx chat.Tx) error {
		if err := tx.Put("k", value); err != nil {
			return err
		}
		_, err := tx.Append("log", chat.Event{ID: "a", Payload: payload})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// The store keeps its own copies: the caller's slices may change afterwards.
	payload[0], value[0] = 'X', 'X'
	err = s.View(ctx, func(tx chat.Tx) error {
		got, err := tx.Get("k")
		if err != nil || string(got) != "v1" {
			t.Errorf("Get = %q, %v; want v1", got, err)
		}
		got[0] = 'Y'
		evs, err := tx.Read("log", 0, 10, 0)
		if err != nil || len(evs) != 1 || string(evs[0].Payload) != "hello" || evs[0].Seq != 1 {
			t.Errorf("Read = %+v, %v; want one event with payload hello at 1", evs, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.View(ctx, func(tx chat.Tx) error {
		if got, _ := tx.Get("k"); string(got) != "v1" {
			t.Errorf("Get after changing a returned slice = %q, want v1", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestViewIsReadOnly(t *testing.T) {
	t.Parallel()
	s := memory.NewStore()
	err := s.View(t.Context(), func(tx chat.Tx) error {
		if err := tx.Put("k", []byte("v")); !errors.Is(err, chat.ErrReadOnly) {
			t.Errorf("Put in View: %v, want chat.ErrReadOnly", err)
		}
		if _, err := tx.Append("log", chat.Event{}); !errors.Is(err, chat.ErrReadOnly) {
			t.Errorf("Append in View: %v, want chat.ErrReadOnly", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestDoneContextRunsNothing(t *testing.T) {
	t.Parallel()
	s := memory.NewStore()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	ran := false
	fn := func(chat.Tx) error { ran = true; return nil }
	if err := s.Update(ctx, fn); !errors.Is(err, context.Canceled) {
		t.Errorf("Update = %v, want context.Canceled", err)
	}
	if err := s.View(ctx, fn); !errors.Is(err, context.Canceled) {
		t.Errorf("View = %v, want context.Canceled", err)
	}
	if ran {
		t.Error("fn ran with a done context")
	}
}

func TestRead(t *testing.T) {
	t.Parallel()
	s := storeWithLog(t, 5)
	tests := []struct {
		name  string
		log   string
		after uint64
		limit int
		want  []uint64
	}{
		{name: "all", after: 0, limit: 10, want: []uint64{1, 2, 3, 4, 5}},
		{name: "limit", after: 0, limit: 2, want: []uint64{1, 2}},
		{name: "middle", after: 2, limit: 2, want: []uint64{3, 4}},
		{name: "last", after: 4, limit: 10, want: []uint64{5}},
		{name: "at head", after: 5, limit: 10, want: []uint64{}},
		{name: "past head", after: 9, limit: 10, want: []uint64{}},
		{name: "far past head", after: math.MaxUint64, limit: 10, want: []uint64{}},
		{name: "zero limit", after: 0, limit: 0, want: []uint64{}},
		{name: "empty log", log: "none", after: 0, limit: 10, want: []uint64{}},
		{name: "empty log far past head", log: "none", after: math.MaxUint64, limit: 10, want: []uint64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			log := tt.log
			if log == "" {
				log = "log"
			}
			err := s.View(t.Context(), func(tx chat.Tx) error {
				evs, err := tx.Read(log, tt.after, tt.limit, 0)
				if err != nil {
					return err
				}
				if got := seqs(evs); !slices.Equal(got, tt.want) {
					t.Errorf("Read(%s, %d, %d) = %v, want %v", log, tt.after, tt.limit, got, tt.want)
				}
				for _, ev := range evs {
					if ev.ID != fmt.Sprintf("e%d", ev.Seq) {
						t.Errorf("event at %d has id %s", ev.Seq, ev.ID)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestReadBefore(t *testing.T) {
	t.Parallel()
	s := storeWithLog(t, 5)
	tests := []struct {
		name   string
		log    string
		before uint64
		limit  int
		want   []uint64
	}{
		{name: "newest", before: 0, limit: 2, want: []uint64{4, 5}},
		{name: "everything", before: 0, limit: 10, want: []uint64{1, 2, 3, 4, 5}},
		{name: "exactly everything", before: 0, limit: 5, want: []uint64{1, 2, 3, 4, 5}},
		{name: "before head", before: 5, limit: 3, want: []uint64{2, 3, 4}},
		{name: "before head, limit reaches the start", before: 5, limit: 4, want: []uint64{1, 2, 3, 4}},
		{name: "near the start", before: 3, limit: 10, want: []uint64{1, 2}},
		{name: "before the first", before: 1, limit: 10, want: []uint64{}},
		{name: "just past head", before: 6, limit: 2, want: []uint64{4, 5}},
		{name: "far past head", before: math.MaxUint64, limit: 2, want: []uint64{4, 5}},
		{name: "zero limit", before: 0, limit: 0, want: []uint64{}},
		{name: "empty log", log: "none", before: 0, limit: 10, want: []uint64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			log := tt.log
			if log == "" {
				log = "log"
			}
			err := s.View(t.Context(), func(tx chat.Tx) error {
				evs, err := tx.ReadBefore(log, tt.before, tt.limit, 0)
				if err != nil {
					return err
				}
				if got := seqs(evs); !slices.Equal(got, tt.want) {
					t.Errorf("ReadBefore(%s, %d, %d) = %v, want %v", log, tt.before, tt.limit, got, tt.want)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestConcurrentAppendsAreGapFree(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := memory.NewStore()
	const writers, each = 8, 50
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				err := s.Update(ctx, func(tx chat.Tx) error {
					_, err := tx.Append("log", chat.Event{ID: fmt.Sprintf("w%d-%d", w, i)})
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
	err := s.View(ctx, func(tx chat.Tx) error {
		evs, err := tx.Read("log", 0, writers*each+1, 0)
		if err != nil {
			return err
		}
		if len(evs) != writers*each {
			t.Fatalf("log holds %d events, want %d", len(evs), writers*each)
		}
		ids := map[string]bool{}
		for i, ev := range evs {
			if ev.Seq != uint64(i+1) {
				t.Fatalf("event %d has seq %d", i, ev.Seq)
			}
			ids[ev.ID] = true
		}
		if len(ids) != writers*each {
			t.Errorf("%d distinct ids, want %d", len(ids), writers*each)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// subscribe subscribes to log and ends the subscription when the test ends.
func subscribe(tb testing.TB, b *memory.Broker, log string) (<-chan struct{}, func()) {
	tb.Helper()
	wake, unsubscribe, err := b.Subscribe(context.Background(), log)
	if err != nil {
		tb.Fatalf("subscribe to %s: %v", log, err)
	}
	tb.Cleanup(unsubscribe)
	return wake, unsubscribe
}

// woken reports whether a wake-up is waiting on ch. Publish hands wake-ups
// over before it returns, so no waiting is needed.
func woken(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestBrokerWakesSubscribersOfTheLog(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	b := memory.NewBroker()
	a1, _ := subscribe(t, b, "a")
	a2, _ := subscribe(t, b, "a")
	other, _ := subscribe(t, b, "b")
	if err := b.Publish(ctx, "a", 1); err != nil {
		t.Fatal(err)
	}
	if !woken(a1) || !woken(a2) {
		t.Error("a subscriber of the published log was not woken")
	}
	if woken(other) {
		t.Error("a subscriber of another log was woken")
	}
	if woken(a1) {
		t.Error("one publish woke a subscriber twice")
	}
}

func TestBrokerMergesWakeUps(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	b := memory.NewBroker()
	wake, _ := subscribe(t, b, "a")
	// A subscriber that does not read must not block publishers.
	for head := range uint64(10) {
		if err := b.Publish(ctx, "a", head+1); err != nil {
			t.Fatal(err)
		}
	}
	if !woken(wake) {
		t.Fatal("not woken after ten publishes")
	}
	if woken(wake) {
		t.Error("publishes were not merged into one pending wake-up")
	}
	if err := b.Publish(ctx, "a", 11); err != nil {
		t.Fatal(err)
	}
	if !woken(wake) {
		t.Error("not woken by a publish after reading the last wake-up")
	}
}

func TestBrokerUnsubscribe(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	b := memory.NewBroker()
	gone, unsubscribe := subscribe(t, b, "a")
	stays, _ := subscribe(t, b, "a")
	unsubscribe()
	unsubscribe() // A second call does nothing.
	if err := b.Publish(ctx, "a", 1); err != nil {
		t.Fatal(err)
	}
	if woken(gone) {
		t.Error("woken after unsubscribing")
	}
	if !woken(stays) {
		t.Error("the other subscriber was not woken")
	}
	// Publishing to a log nobody follows is fine.
	if err := b.Publish(ctx, "nobody", 1); err != nil {
		t.Fatal(err)
	}
	// A log whose last subscriber left can be followed again.
	again, _ := subscribe(t, b, "nobody")
	if err := b.Publish(ctx, "nobody", 2); err != nil {
		t.Fatal(err)
	}
	if !woken(again) {
		t.Error("a new subscriber was not woken")
	}
}

func TestBrokerConcurrentUse(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	b := memory.NewBroker()
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := range 100 {
				wake, unsubscribe, err := b.Subscribe(ctx, "a")
				if err != nil {
					t.Error(err)
					return
				}
				if err := b.Publish(ctx, "a", uint64(i*100+j)); err != nil {
					t.Error(err)
				}
				// Our own publish came after we subscribed: we must be woken.
				if !woken(wake) {
					t.Error("subscriber missed a publish made after it subscribed")
				}
				unsubscribe()
			}
		})
	}
	wg.Wait()
}

// TestConformance: the memory store passes the store conformance suite.
func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(testing.TB) chat.Store { return memory.NewStore() })
}
