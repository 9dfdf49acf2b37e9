// Package clitest drives terminal programs in tests: it collects what a
// program writes and waits, with a deadline, for expected text in order.
package clitest

import (
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

// Screen collects a program's output. It is an io.Writer safe for
// concurrent use; Expect waits for text to appear after what it matched last.
type Screen struct {
	mu      sync.Mutex
	buf     strings.Builder
	matched int
	changed chan struct{}
}

// NewScreen returns an empty Screen.
func NewScreen() *Screen { return &Screen{changed: make(chan struct{}, 1)} }

// Write appends p to the screen.
func (s *Screen) Write(p []byte) (int, error) {
	s.mu.Lock()
	s.buf.Write(p)
	s.mu.Unlock()
	select {
	case s.changed <- struct{}{}:
	default:
	}
	return len(p), nil
}

// Copy copies r to the screen until r ends; run it in a goroutine.
func (s *Screen) Copy(r io.Reader) { _, _ = io.Copy(s, r) }

// String returns everything written so far.
func (s *Screen) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// Expect waits until each of texts has appeared, in order, after the last
// text matched before; it fails the test after timeout.
func (s *Screen) Expect(tb testing.TB, timeout time.Duration, texts ...string) {
	tb.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for _, text := range texts {
		for !s.match(text) {
			select {
			case <-s.changed:
			case <-deadline.C:
				tb.Fatalf("did not see %q within %s; the screen after the last match:\n%s", text, timeout, s.rest())
			}
		}
	}
}

// Lacks fails the test if text appears after the last match.
func (s *Screen) Lacks(tb testing.TB, text string) {
	tb.Helper()
	if rest := s.rest(); strings.Contains(rest, text) {
		tb.Fatalf("saw %q, which should not be there:\n%s", text, rest)
	}
}

func (s *Screen) match(text string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := strings.Index(s.buf.String()[s.matched:], text)
	if i < 0 {
		return false
	}
	s.matched += i + len(text)
	return true
}

func (s *Screen) rest() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()[s.matched:]
}
