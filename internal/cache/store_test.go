package cache_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spartan-messenger/spartan/internal/bolt"
	"github.com/spartan-messenger/spartan/internal/cache"
	"github.com/spartan-messenger/spartan/internal/chat"
	"github.com/spartan-messenger/spartan/internal/chat/storetest"
	"github.com/spartan-messenger/spartan/internal/memory"
)

func newCache(tb testing.TB, next chat.Store, opts cache.Options) *cache.Store {
	tb.Helper()
	c, err := cache.New(next, opts)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func boltStore(tb testing.TB) chat.Store {
	tb.Helper()
	s, err := bolt.Open(filepath.Join(tb.TempDir(), "spartan.db"), bolt.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// eventFor is the event a test writes at seq of log: readers can tell from
// an event alone whether it is the right one.
func eventFor(log string, seq uint64, size int) chat.Event {
	return chat.Event{
		ID:       fmt.Sprintf("%s#%d", log, seq),
		Kind:     chat.KindText,
		Sender:   "alice",
		Receiver: "bob",
		SentAt:   time.Unix(int64(seq), 0).UTC(),
		Payload:  []byte(strings.Repeat("x", size)),
	}
}

// appendTo appends n events to log in one Update.
func appendTo(tb testing.TB, s chat.Store, log string, n, size int) {
	tb.Helper()
	err := s.Update(context.Background(), func(tx chat.Tx) error {
		for range n {
			head, err := tx.Head(log)
			if err != nil {
				return err
			}
			if _, err := tx.Append(log, eventFor(log, head+1, size)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
}

type read struct {
	before bool // ReadBefore, else Read
	pos    uint64
	limit  int
}

func (r read) do(tx chat.Tx, log string) ([]chat.Event, error) {
	if r.before {
		return tx.ReadBefore(log, r.pos, r.limit, 0)
	}
	return tx.Read(log, r.pos, r.limit, 0)
}

func view(tb testing.TB, s chat.Store, log string, r read) []chat.Event {
	tb.Helper()
	var out []chat.Event
	err := s.View(context.Background(), func(tx chat.Tx) error {
		var err error
		out, err = r.do(tx, log)
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func ids(evs []chat.Event) string {
	var b strings.Builder
	for _, ev := range evs {
		fmt.Fprintf(&b, "%d:%s ", ev.Seq, ev.ID)
	}
	return b.String()
}

// TestReadsMatchStore runs the same reads on the cache and on the store
// alone, and checks which the cache answered itself.
func TestReadsMatchStore(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		setup   func(tb testing.TB, s chat.Store) // writes through the cache
		read    read
		wantHit bool
	}{
		{"newest page after writes", func(tb testing.TB, s chat.Store) { appendTo(tb, s, "l", 30, 10) }, read{true, 0, 5}, true},
		{"page within the tail", func(tb testing.TB, s chat.Store) { appendTo(tb, s, "l", 30, 10) }, read{true, 26, 5}, true},
		{"page older than the tail", func(tb testing.TB, s chat.Store) { appendTo(tb, s, "l", 30, 10) }, read{true, 5, 3}, false},
		{"page straddling the tail's start", func(tb testing.TB, s chat.Store) { appendTo(tb, s, "l", 30, 10) }, read{true, 15, 10}, false},
		{"read after, recent", func(tb testing.TB, s chat.Store) { appendTo(tb, s, "l", 30, 10) }, read{false, 25, 100}, true},
		{"read after, old", func(tb testing.TB, s chat.Store) { appendTo(tb, s, "l", 30, 10) }, read{false, 2, 3}, false},
		{"read after, limited", func(tb testing.TB, s chat.Store) { appendTo(tb, s, "l", 30, 10) }, read{false, 21, 2}, true},
		{"one event per Update", func(tb testing.TB, s chat.Store) {
			for range 12 {
				appendTo(tb, s, "l", 1, 10)
			}
		}, read{true, 0, 10}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			under := memory.NewStore()
			c := newCache(t, under, cache.Options{MessagesPerLog: 10, MaxEntries: 1000, MaxBytes: 1 << 20})
			tt.setup(t, c)
			got := view(t, c, "l", tt.read)
			want := view(t, under, "l", tt.read)
			if ids(got) != ids(want) {
				t.Errorf("cache gave %s\nstore gave %s", ids(got), ids(want))
			}
			if st := c.Stats(); (st.Hits == 1) != tt.wantHit || st.Hits+st.Misses != 1 {
				t.Errorf("stats %+v, want hit %v", st, tt.wantHit)
			}
		})
	}
}

// TestMissFillsThenHits: a store written behind the cache's back is read
// from the store (the heads differ), and the newest page then fills the cache.
func TestMissFillsThenHits(t *testing.T) {
	t.Parallel()
	under := memory.NewStore()
	c := newCache(t, under, cache.Options{MessagesPerLog: 10, MaxEntries: 100, MaxBytes: 1 << 20})
	appendTo(t, c, "l", 5, 1)
	appendTo(t, under, "l", 5, 1) // not through the cache
	for i, wantHits := range []uint64{0, 1} {
		got := view(t, c, "l", read{true, 0, 8})
		if want := view(t, under, "l", read{true, 0, 8}); ids(got) != ids(want) {
			t.Fatalf("read %d: cache gave %s, store %s", i, ids(got), ids(want))
		}
		if st := c.Stats(); st.Hits != wantHits {
			t.Errorf("read %d: %+v, want %d hits", i, st, wantHits)
		}
	}
}

// rerunStore runs every Update's fn twice: once in a transaction it throws
// away, once for real, as bbolt's Batch may.
type rerunStore struct{ *memory.Store }

func (r rerunStore) Update(ctx context.Context, fn func(tx chat.Tx) error) error {
	scratch := memory.NewStore()
	_ = scratch.Update(ctx, func(tx chat.Tx) error {
		_, _ = tx.Append("l", eventFor("l", 99, 1))
		_ = fn(tx)
		return errors.New("thrown away")
	})
	return r.Store.Update(ctx, fn)
}

func TestRerunUpdateCachesOnlyTheCommittedRun(t *testing.T) {
	t.Parallel()
	under := rerunStore{memory.NewStore()}
	c := newCache(t, under, cache.Options{MessagesPerLog: 10, MaxEntries: 100, MaxBytes: 1 << 20})
	appendTo(t, c, "l", 3, 1)
	got := view(t, c, "l", read{true, 0, 10})
	if want := view(t, under, "l", read{true, 0, 10}); ids(got) != ids(want) || c.Stats().Hits != 1 {
		t.Errorf("cache gave %s, store %s, stats %+v", ids(got), ids(want), c.Stats())
	}
}

// TestBoundsLongRun writes to many logs with random sizes and checks the
// bounds after every write.
func TestBoundsLongRun(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts cache.Options
	}{
		{"entries bind", cache.Options{MessagesPerLog: 20, MaxEntries: 150, MaxBytes: 1 << 30}},
		{"bytes bind", cache.Options{MessagesPerLog: 50, MaxEntries: 1 << 20, MaxBytes: 64 << 10}},
		{"one huge log", cache.Options{MessagesPerLog: 1000, MaxEntries: 1 << 20, MaxBytes: 16 << 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			under := memory.NewStore()
			c := newCache(t, under, tt.opts)
			rng := rand.New(rand.NewPCG(1, 2))
			for i := range 5000 {
				log := fmt.Sprintf("log-%d", rng.IntN(40))
				appendTo(t, c, log, 1+rng.IntN(3), rng.IntN(2000))
				if i%7 == 0 {
					r := read{rng.IntN(2) == 0, uint64(rng.IntN(100)), 1 + rng.IntN(30)}
					if got, want := view(t, c, log, r), view(t, under, log, r); ids(got) != ids(want) {
						t.Fatalf("write %d: %s %+v: cache gave %s, store %s", i, log, r, ids(got), ids(want))
					}
				}
				st := c.Stats()
				if st.Entries > tt.opts.MaxEntries || st.Bytes > tt.opts.MaxBytes || st.Entries > st.Logs*tt.opts.MessagesPerLog {
					t.Fatalf("write %d: %+v over bounds %+v", i, st, tt.opts)
				}
			}
			if st := c.Stats(); st.Evictions == 0 || st.Hits == 0 {
				t.Errorf("stats %+v: expected evictions and hits", st)
			}
		})
	}
}

// TestConcurrentReadersSeeNoStaleData: while writers append, every read
// through the cache returns the right events, gap-free, and a newest page
// ends at or after everything committed before the read began.
func TestConcurrentReadersSeeNoStaleData(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		under func(tb testing.TB) chat.Store
	}{
		{"memory", func(testing.TB) chat.Store { return memory.NewStore() }},
		{"bolt", boltStore},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newCache(t, tt.under(t), cache.Options{MessagesPerLog: 16, MaxEntries: 40, MaxBytes: 1 << 20})
			const logs, writers, readers, writes = 4, 4, 4, 150
			var committed [logs]atomic.Uint64
			var wg sync.WaitGroup
			for w := range writers {
				wg.Go(func() {
					for i := range writes {
						l := (w + i) % logs
						log := fmt.Sprintf("log-%d", l)
						var seq uint64
						err := c.Update(t.Context(), func(tx chat.Tx) error {
							head, err := tx.Head(log)
							if err != nil {
								return err
							}
							seq, err = tx.Append(log, eventFor(log, head+1, 8))
							return err
						})
						if err != nil {
							t.Error(err)
							return
						}
						for cur := committed[l].Load(); cur < seq && !committed[l].CompareAndSwap(cur, seq); cur = committed[l].Load() {
						}
					}
				})
			}
			var done atomic.Bool
			var rg sync.WaitGroup
			for r := range readers {
				rg.Go(func() {
					rng := rand.New(rand.NewPCG(uint64(r), 7))
					for !done.Load() {
						l := rng.IntN(logs)
						log := fmt.Sprintf("log-%d", l)
						floor := committed[l].Load()
						rd := read{rng.IntN(2) == 0, uint64(rng.IntN(int(floor) + 2)), 1 + rng.IntN(20)}
						if rng.IntN(3) == 0 {
							rd = read{true, 0, 1 + rng.IntN(20)}
						}
						err := c.View(t.Context(), func(tx chat.Tx) error {
							evs, err := rd.do(tx, log)
							if err != nil {
								return err
							}
							for i, ev := range evs {
								if ev.ID != fmt.Sprintf("%s#%d", log, ev.Seq) || (i > 0 && ev.Seq != evs[i-1].Seq+1) {
									return fmt.Errorf("%s %+v: wrong or gappy events %s", log, rd, ids(evs))
								}
							}
							if rd.before && rd.pos == 0 && floor > 0 && (len(evs) == 0 || evs[len(evs)-1].Seq < floor) {
								return fmt.Errorf("%s: newest page %s is older than committed seq %d: stale", log, ids(evs), floor)
							}
							return nil
						})
						if err != nil {
							t.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			done.Store(true)
			rg.Wait()
			st := c.Stats()
			t.Logf("stats %+v", st)
			if st.Entries > 40 {
				t.Errorf("entries %d over 40", st.Entries)
			}
		})
	}
}

func TestNewRejectsBadBounds(t *testing.T) {
	t.Parallel()
	if _, err := cache.New(memory.NewStore(), cache.Options{MessagesPerLog: 1, MaxEntries: 0, MaxBytes: 1}); err == nil {
		t.Error("New accepted zero MaxEntries")
	}
}

// TestConformance: the cache in front of each store passes the store
// conformance suite as the store alone does.
func TestConformance(t *testing.T) {
	t.Parallel()
	small := cache.Options{MessagesPerLog: 4, MaxEntries: 16, MaxBytes: 1 << 20}
	t.Run("over memory", func(t *testing.T) {
		t.Parallel()
		storetest.Run(t, func(tb testing.TB) chat.Store { return newCache(tb, memory.NewStore(), small) })
	})
	t.Run("over bolt", func(t *testing.T) {
		t.Parallel()
		storetest.Run(t, func(tb testing.TB) chat.Store { return newCache(tb, boltStore(tb), small) })
	})
}

// slowReturn is a store whose next Update, once armed, is held after it
// commits, before it returns: commits of one log that finish out of order.
type slowReturn struct {
	chat.Store
	mu      sync.Mutex
	armed   bool
	taken   chan struct{} // closed when the held Update has committed
	release chan struct{} // closed to let it return
}

func (s *slowReturn) Update(ctx context.Context, fn func(tx chat.Tx) error) error {
	err := s.Store.Update(ctx, fn)
	s.mu.Lock()
	hold := s.armed
	s.armed = false
	s.mu.Unlock()
	if hold {
		close(s.taken)
		<-s.release
	}
	return err
}

// TestCommitsFinishingOutOfOrder: when the newer of two commits to a log
// returns first, the cache holds its event until the older one arrives, and
// the reader that follows the log reads both from the cache.
func TestCommitsFinishingOutOfOrder(t *testing.T) {
	t.Parallel()
	next := &slowReturn{Store: memory.NewStore(), taken: make(chan struct{}), release: make(chan struct{})}
	c := newCache(t, next, cache.Options{MessagesPerLog: 10, MaxEntries: 100, MaxBytes: 1 << 20})
	appendOne := func(id string) error {
		return c.Update(t.Context(), func(tx chat.Tx) error {
			_, err := tx.Append("inbox/bob", chat.Event{ID: id})
			return err
		})
	}
	if err := appendOne("e1"); err != nil {
		t.Fatal(err)
	}
	next.mu.Lock()
	next.armed = true
	next.mu.Unlock()
	older := make(chan error, 1)
	go func() { older <- appendOne("e2") }()
	<-next.taken // e2 is committed, and held before it returns
	if err := appendOne("e3"); err != nil {
		t.Fatal(err)
	}
	close(next.release)
	if err := <-older; err != nil {
		t.Fatal(err)
	}
	before := c.Stats()
	err := c.View(t.Context(), func(tx chat.Tx) error {
		evs, err := tx.Read("inbox/bob", 1, 10, 0)
		if err != nil {
			return err
		}
		if got := ids(evs); got != "2:e2 3:e3 " {
			t.Errorf("read after 1: %s, want 2:e2 3:e3", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if after := c.Stats(); after.Hits != before.Hits+1 || after.Misses != before.Misses {
		t.Errorf("the read was a miss: %+v then %+v", before, after)
	}
}
