package bench

import (
	"bufio"
	"context"
	"io"
	"strings"
	"testing"
	"time"
)

// startTestRelay serves the relay over transport in this process until the
// test ends, and returns its address.
func startTestRelay(t *testing.T, transport string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	r, w := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- RunRelay(ctx, transport, "127.0.0.1:0", "", w) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("relay: %v", err)
		}
	})
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = io.Copy(io.Discard, r) }()
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "relay listening on ")
	if !ok {
		t.Fatalf("relay said %q", line)
	}
	return addr
}

// TestRelayDelivers sends through each relay with its own client and
// checks that the receiver gets every stamp in order.
func TestRelayDelivers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		transport string
		dial      func(addr, user string) (peer, error)
	}{
		{RelayConnect, func(addr, user string) (peer, error) { return dialConnect(addr, user, 64), nil }},
		{RelayGRPC, func(addr, user string) (peer, error) { return dialGRPC(addr, user, 64) }},
	}
	for _, tt := range tests {
		t.Run(tt.transport, func(t *testing.T) {
			t.Parallel()
			addr := startTestRelay(t, tt.transport)
			alice, err := tt.dial(addr, "alice")
			if err != nil {
				t.Fatal(err)
			}
			bob, err := tt.dial(addr, "bob")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(alice.close)
			t.Cleanup(bob.close)
			ctx, cancel := context.WithCancel(t.Context())
			ready := make(chan struct{})
			got := make(chan time.Time, 10)
			done := make(chan error, 1)
			go func() { done <- bob.receive(ctx, func() { close(ready) }, func(at time.Time) { got <- at }) }()
			select {
			case <-ready:
			case err := <-done:
				t.Fatalf("bob's stream: %v", err)
			}
			base := time.Unix(1_790_000_000, 0)
			for i := range 5 {
				if err := alice.send(ctx, "bob", base.Add(time.Duration(i))); err != nil {
					t.Fatal(err)
				}
			}
			for i := range 5 {
				select {
				case at := <-got:
					if want := base.Add(time.Duration(i)); !at.Equal(want) {
						t.Errorf("message %d stamped %v, want %v", i, at, want)
					}
				case err := <-done:
					t.Fatalf("bob's stream ended: %v", err)
				}
			}
			cancel()
			if err := <-done; err != nil {
				t.Errorf("bob's stream after cancel: %v", err)
			}
		})
	}
}

func TestRunRelayRefusesUnknownTransport(t *testing.T) {
	t.Parallel()
	if err := RunRelay(t.Context(), "carrier-pigeon", "127.0.0.1:0", "", io.Discard); err == nil {
		t.Error("no error")
	}
}
