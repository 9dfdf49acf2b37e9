package cache_test

import (
	"fmt"
	"testing"

	"github.com/spartan-messenger/spartan/internal/cache"
	"github.com/spartan-messenger/spartan/internal/chat"
)

// benchRead reads pages of 50 from a log of 1000 events (200-byte payloads)
// in bolt behind the cache, starting before before (0: the newest).
func benchRead(b *testing.B, before uint64, wantHit bool) {
	c := newCache(b, boltStore(b), cache.Options{MessagesPerLog: 100, MaxEntries: 100_000, MaxBytes: 64 << 20})
	for range 10 {
		appendTo(b, c, "dm/a\x00b", 100, 200)
	}
	b.ReportAllocs()
	for b.Loop() {
		err := c.View(b.Context(), func(tx chat.Tx) error {
			evs, err := tx.ReadBefore("dm/a\x00b", before, 50, 0)
			if len(evs) != 50 {
				return fmt.Errorf("%d events", len(evs))
			}
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	if st := c.Stats(); (st.Hits > 0) != wantHit {
		b.Fatalf("stats %+v, want hits %v", st, wantHit)
	}
}

// BenchmarkReadRecentHit reads the newest page: served by the cache.
func BenchmarkReadRecentHit(b *testing.B) { benchRead(b, 0, true) }

// BenchmarkReadOldMiss reads an old page: served by bolt.
func BenchmarkReadOldMiss(b *testing.B) { benchRead(b, 300, false) }
