package rpccache_test

import (
	"testing"

	"connectrpc.com/connect"

	spartanv1 "github.com/spartan-messenger/spartan/gen/spartan/v1"
)

// BenchmarkInterceptor measures whole calls over an in-process HTTP server
// (Connect protocol) with and without the response cache: History of 50
// messages (cached: a hit every time), and Login (never cached: the
// interceptor's pass-through overhead).
func BenchmarkInterceptor(b *testing.B) {
	for _, withCache := range []bool{false, true} {
		name := "off"
		if withCache {
			name = "on"
		}
		f := serve(b, withCache)
		f.connect(b, "alice", "bob")
		for range 50 {
			f.send(b, "alice", "bob", "a message of some forty bytes, roughly.")
		}
		b.Run("History/cache="+name, func(b *testing.B) {
			req := connect.NewRequest(&spartanv1.HistoryRequest{User: "alice", Peer: "bob"})
			b.ReportAllocs()
			for b.Loop() {
				if _, err := f.client.History(b.Context(), req); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("Login/cache="+name, func(b *testing.B) {
			req := connect.NewRequest(&spartanv1.LoginRequest{User: "alice"})
			b.ReportAllocs()
			for b.Loop() {
				if _, err := f.client.Login(b.Context(), req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
