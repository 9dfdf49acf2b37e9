package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// TestRunPortInUse checks that a server whose port is taken exits with
// status 2 and says only why, in one line: no log lines, no cache
// statistics of a run that never was.
func TestRunPortInUse(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = busy.Close() })
	port := busy.Addr().(*net.TCPAddr).Port
	dir := t.TempDir()
	tests := []struct {
		name  string
		store string
	}{
		{name: "memory store", store: "kind: memory"},
		{name: "bolt store", store: "kind: bolt\n  path: " + filepath.Join(dir, "spartan.db")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "config.yaml")
			config := fmt.Sprintf("host: 127.0.0.1\nport: %d\nusers: [alice, bob]\nstore:\n  %s\n", port, tt.store)
			if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			var stdout, stderr bytes.Buffer
			code := run(ctx, []string{"-config", path}, nil, &stdout, &stderr)
			if code != 2 {
				t.Errorf("exit status %d, want 2", code)
			}
			want := regexp.MustCompile(fmt.Sprintf(`^spartan-server: listen on 127\.0\.0\.1:%d: port %d is in use .*address already in use\n$`, port, port))
			if !want.MatchString(stderr.String()) {
				t.Errorf("stderr %q, want one line matching %s", stderr.String(), want)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout %q, want nothing", stdout.String())
			}
		})
	}
}

// TestRunStops checks that a server stopped by its context (Ctrl-C, SIGTERM)
// exits with status 0.
func TestRunStops(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte("host: 127.0.0.1\nport: 0\nusers: [alice, bob]\nstore:\n  kind: memory\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	stdout := &startWatcher{started: make(chan struct{})}
	var stderr bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"-config", path}, nil, stdout, &stderr) }()
	select {
	case <-stdout.started:
	case code := <-done:
		t.Fatalf("run returned %d before starting; stderr %q", code, stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatal("no start-up line in 30 s")
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit status %d after a stop, want 0; stderr %q", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not return in 30 s after its context ended")
	}
}

// startWatcher is a stdout that closes started at the first write, the
// start-up line.
type startWatcher struct {
	started chan struct{}
	wrote   bool
}

func (w *startWatcher) Write(p []byte) (int, error) {
	if !w.wrote {
		w.wrote = true
		close(w.started)
	}
	return len(p), nil
}
