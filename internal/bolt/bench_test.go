package bolt_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/spartan-messenger/spartan/internal/chat"
	"github.com/spartan-messenger/spartan/internal/memory"
)

// BenchmarkAppend measures one durable Update (one event) at a time: each
// pays a commit and an fsync.
func BenchmarkAppend(b *testing.B) {
	s, _ := open(b)
	ev := event(1)
	ev.Payload = make([]byte, 200)
	b.ReportAllocs()
	for b.Loop() {
		err := s.Update(b.Context(), func(tx chat.Tx) error {
			_, err := tx.Append("inbox/bob", ev)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendParallel measures durable Updates from 32 goroutines, which
// DB.Batch groups into shared commits.
func BenchmarkAppendParallel(b *testing.B) {
	s, _ := open(b)
	ev := event(1)
	ev.Payload = make([]byte, 200)
	var n atomic.Int64
	b.SetParallelism(16)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		log := fmt.Sprintf("inbox/u%d", n.Add(1))
		for pb.Next() {
			err := s.Update(b.Context(), func(tx chat.Tx) error {
				_, err := tx.Append(log, ev)
				return err
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkReadNewestPage measures a History-sized read (50 events) from bolt.
func BenchmarkReadNewestPage(b *testing.B) {
	s, _ := open(b)
	appendN(b, s, "dm/a\x00b", 200)
	b.ReportAllocs()
	for b.Loop() {
		err := s.View(b.Context(), func(tx chat.Tx) error {
			evs, err := tx.ReadBefore("dm/a\x00b", 0, 50, 0)
			if len(evs) != 50 {
				return fmt.Errorf("%d events", len(evs))
			}
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPendingSend measures a send that waits for the answer to a chat
// request, on bolt, with 64 KiB messages, when none wait already and when
// 500 do: waiting messages are a log, so the two cost the same (they were a
// list in the conversation record: 70-160 ms a send at a hundred waiting).
func BenchmarkPendingSend(b *testing.B) {
	for _, waiting := range []int{0, 500} {
		b.Run(fmt.Sprint(waiting, " waiting"), func(b *testing.B) {
			s, _ := open(b)
			var n atomic.Int64
			svc := chat.NewService(s, memory.NewBroker(), memory.NewPresence(), chat.Options{
				Users: []string{"alice", "bob"}, MaxPayload: 64 << 10, MaxPending: 1 << 30,
				NewID: func() string { return fmt.Sprint("id-", n.Add(1)) },
			})
			if _, err := svc.RequestChat(b.Context(), "alice", "bob"); err != nil {
				b.Fatal(err)
			}
			payload := make([]byte, 64<<10)
			send := func() {
				if _, pending, err := svc.Send(b.Context(), "alice", "bob", payload, 0, ""); err != nil || !pending {
					b.Fatalf("send: pending %t, %v", pending, err)
				}
			}
			for range waiting {
				send()
			}
			for b.Loop() {
				send()
			}
		})
	}
}
