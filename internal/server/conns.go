package server

import (
	"net"
	"net/http"
	"sync"
)

// silentConns holds the connections that have not said a word yet (net/http's
// StateNew), so that a shutdown can close them at once. net/http counts such
// a connection as busy for its first five seconds: a client that connected a
// moment before the shutdown, or a port check that never speaks, would hold
// the shutdown up for its whole grace. A silent connection has no call in
// flight, so nothing is lost by closing it.
type silentConns struct {
	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	closing bool
}

// track follows c's state; it is the http.Server's ConnState hook.
func (s *silentConns) track(c net.Conn, state http.ConnState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if state != http.StateNew {
		delete(s.conns, c)
		return
	}
	if s.closing {
		_ = c.Close() // accepted as the listener closed
		return
	}
	if s.conns == nil {
		s.conns = make(map[net.Conn]struct{})
	}
	s.conns[c] = struct{}{}
}

// closeAll closes the silent connections, and any accepted from now on; it
// runs on the http.Server's shutdown.
func (s *silentConns) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closing = true
	for c := range s.conns {
		_ = c.Close()
	}
	clear(s.conns)
}
