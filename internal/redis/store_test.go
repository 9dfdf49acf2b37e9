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
// writers append to one inbox at once: every append commits, gap-free, and
// the retries per commit are reported.
func TestContention(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	s := redis.New(client(t, srv), prefix(t))
	const writers, each = 32, 20
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if err := s.Update(context.Background(), func(tx chat.Tx) error {
					_, err := tx.Append("inbox/bob", chat.Event{ID: fmt.Sprintf("%d-%d", w, i)})
					return err
				}); err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
			}
		})
	}
	wg.Wait()
	st := s.Stats()
	t.Logf("%d commits, %d retries: %.2f retries per commit with %d concurrent writers to one log", st.Commits, st.Retries, float64(st.Retries)/float64(st.Commits), writers)
	if st.Commits != writers*each {
		t.Fatalf("%d commits, want %d", st.Commits, writers*each)
	}
}
