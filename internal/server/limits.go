package server

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// withBodyDeadline gives every request's body d to arrive: a read past it
// fails, so a client that sends a body slowly or never cannot hold a call
// (and its memory) open. Once the body has been read to its end the
// deadline is lifted, so a stream that follows lives as long as it likes.
// The server's streams are all server-streaming: their one request message
// arrives at once too.
func withBodyDeadline(next http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		if err := rc.SetReadDeadline(time.Now().Add(d)); err == nil {
			r.Body = &deadlineBody{ReadCloser: r.Body, rc: rc}
		}
		next.ServeHTTP(w, r)
	})
}

// deadlineBody lifts the read deadline when the body ends.
type deadlineBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	done bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if errors.Is(err, io.EOF) && !b.done {
		b.done = true
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

// limitListener closes, at once, a connection from a remote IP address that
// has max connections open already.
type limitListener struct {
	net.Listener
	max int
	log *slog.Logger

	mu    sync.Mutex
	open  map[string]int
	warns map[string]time.Time // when each address was last warned about
}

func newLimitListener(ln net.Listener, max int, log *slog.Logger) *limitListener {
	return &limitListener{Listener: ln, max: max, log: log, open: map[string]int{}, warns: map[string]time.Time{}}
}

// Accept returns the next connection within the bound; it closes those past it.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := remoteIP(c)
		if l.admit(ip) {
			return &limitedConn{Conn: c, release: func() { l.release(ip) }}, nil
		}
		_ = c.Close()
	}
}

func (l *limitListener) admit(ip string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[ip] >= l.max {
		// One warning per address a minute, however hard it tries.
		if now := time.Now(); now.Sub(l.warns[ip]) > time.Minute {
			l.warns[ip] = now
			l.log.Warn("refused a connection: this address has too many open (limits.conns_per_address)",
				"remote", ip, "open", l.open[ip], "limit", l.max)
		}
		return false
	}
	l.open[ip]++
	return true
}

func (l *limitListener) release(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[ip]--; l.open[ip] <= 0 {
		delete(l.open, ip)
		delete(l.warns, ip)
	}
}

// limitedConn releases its place once, when it is closed.
type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}

func remoteIP(c net.Conn) string {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return a.IP.String()
	}
	return c.RemoteAddr().String()
}
