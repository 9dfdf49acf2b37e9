package chat_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	goredis "github.com/redis/go-redis/v9"

	"github.com/spartan-messenger/spartan/internal/bolt"
	"github.com/spartan-messenger/spartan/internal/chat"
	"github.com/spartan-messenger/spartan/internal/memory"
	"github.com/spartan-messenger/spartan/internal/redis"
	"github.com/spartan-messenger/spartan/internal/redistest"
)

// BenchmarkGroupPost measures one post to a group of 200 and of 1,000
// members on each store: the group's log, and a copy in every other
// member's inbox, in one transaction. ns/member is the cost each member
// adds (docs/benchmarks.md).
func BenchmarkGroupPost(b *testing.B) {
	stores := []struct {
		name string
		open func(b *testing.B) chat.Store
	}{
		{"memory", func(*testing.B) chat.Store { return memory.NewStore() }},
		{"bolt", func(b *testing.B) chat.Store {
			s, err := bolt.Open(filepath.Join(b.TempDir(), "spartan.db"), bolt.Options{})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = s.Close() })
			return s
		}},
		{"redis", func(b *testing.B) chat.Store {
			r := redistest.Start(b)
			client := goredis.NewClient(&goredis.Options{Addr: r.Addr})
			b.Cleanup(func() { _ = client.Close() })
			return redis.New(client, "bench:")
		}},
	}
	for _, st := range stores {
		for _, n := range []int{200, 1000} {
			b.Run(fmt.Sprintf("%s/members=%d", st.name, n), func(b *testing.B) {
				members := make([]string, n)
				for i := range members {
					members[i] = fmt.Sprintf("u%04d", i)
				}
				svc := chat.NewService(st.open(b), memory.NewBroker(), memory.NewPresence(), chat.Options{
					Users:  members,
					Groups: map[string][]string{"all": members},
					NewID:  func() string { return uuid.Must(uuid.NewV7()).String() },
				})
				payload := make([]byte, 200) // a short sealed post
				b.ReportAllocs()
				b.ResetTimer()
				start := time.Now()
				for b.Loop() {
					if _, err := svc.Post(b.Context(), members[0], "all", payload, 2, ""); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(b.N)/float64(n-1), "ns/member")
			})
		}
	}
}
