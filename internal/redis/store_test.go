package redis_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/spartan-messenger/spartan/internal/chat"
	"github.com/spartan-messenger/spartan/internal/chat/storetest"
	"github.com/spartan-messenger/spartan/internal/redis"
	"github.com/spartan-messenger/spartan/internal/redistest"
)

// client returns a client of srv for the test.
func client(tb testing.TB, srv *redistest.Server) goredis.UniversalClient {
	tb.Helper()
	c := goredis.NewUniversalClient(&goredis.UniversalOptions{Addrs: []string{srv.Addr}})
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// prefix isolates a test's keys in a shared Redis by its name.
func prefix(tb testing.TB) string {
	return "test:" + strings.NewReplacer("/", ":", " ", "_").Replace(tb.Name()) + ":"
}

// TestConformance: the Redis store passes the store conformance suite, on a
// real redis-server.
func TestConformance(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	c := client(t, srv)
	storetest.Run(t, func(tb testing.TB) chat.Store { return redis.New(c, prefix(tb)) })
}

// TestContention measures what optimistic transactions cost when 32
// writers append to the same logs at once: every append commits, gap-free,
// and the retries per commit are reported. With heads prefetched (as a
// group post reads its members' inboxes), the prefetch watches them too.
func TestContention(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	tests := []struct {
		name     string
		logs     []string
		prefetch bool
	}{
		{"one log", []string{"inbox/bob"}, false},
		{"three logs prefetched", []string{"inbox/bob", "inbox/carol", "group/team"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := redis.New(client(t, srv), prefix(t))
			const writers, each = 32, 20
			var wg sync.WaitGroup
			for w := range writers {
				wg.Go(func() {
					for i := range each {
						if err := s.Update(context.Background(), func(tx chat.Tx) error {
							if tt.prefetch {
								if err := tx.(chat.HeadPrefetcher).PrefetchHeads(tt.logs); err != nil {
									return err
								}
							}
							for _, log := range tt.logs {
								if _, err := tx.Append(log, chat.Event{ID: fmt.Sprintf("%d-%d", w, i)}); err != nil {
									return err
								}
							}
							return nil
						}); err != nil {
							t.Errorf("writer %d: %v", w, err)
							return
						}
					}
				})
			}
			wg.Wait()
			st := s.Stats()
			t.Logf("%d commits, %d retries: %.2f retries per commit with %d concurrent writers", st.Commits, st.Retries, float64(st.Retries)/float64(st.Commits), writers)
			if st.Commits != writers*each {
				t.Fatalf("%d commits, want %d", st.Commits, writers*each)
			}
			err := s.View(context.Background(), func(tx chat.Tx) error {
				for _, log := range tt.logs {
					evs, err := tx.Read(log, 0, writers*each+1, 0)
					if err != nil {
						return err
					}
					if len(evs) != writers*each || evs[len(evs)-1].Seq != writers*each {
						t.Errorf("%s: %d events, last seq %d; want %d, gap-free", log, len(evs), evs[len(evs)-1].Seq, writers*each)
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

// TestPrefetchHeads: prefetched heads are the heads, 0 for a log never
// written, in an Update and in a View.
func TestPrefetchHeads(t *testing.T) {
	t.Parallel()
	s := redis.New(client(t, redistest.Start(t)), prefix(t))
	err := s.Update(t.Context(), func(tx chat.Tx) error {
		for range 3 {
			if _, err := tx.Append("inbox/bob", chat.Event{ID: "x"}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	logs := []string{"inbox/bob", "inbox/nobody", "inbox/bob"}
	for name, run := range map[string]func(context.Context, func(chat.Tx) error) error{"update": s.Update, "view": s.View} {
		err := run(t.Context(), func(tx chat.Tx) error {
			if err := tx.(chat.HeadPrefetcher).PrefetchHeads(logs); err != nil {
				return err
			}
			for log, want := range map[string]uint64{"inbox/bob": 3, "inbox/nobody": 0} {
				if got, err := tx.Head(log); err != nil || got != want {
					t.Errorf("%s: head of %s %d, %v; want %d", name, log, got, err, want)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
}
