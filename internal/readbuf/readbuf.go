// Package readbuf gives a listener's connections a read buffer that exists
// only while data is flowing. net/http's HTTP/2 server reads frames straight
// from the connection: a 9-byte header, then the payload, two system calls
// for every frame however many have arrived. Through a Conn of this package
// one read takes all that has arrived (up to the buffer's size) and the
// frames are cut from memory; the buffer goes back to a pool as soon as it
// is drained, so an idle connection holds none.
package readbuf

import (
	"net"
	"sync"
)

// size is the buffer a read fills: several frames of a busy connection.
const size = 16 << 10

var pool = sync.Pool{New: func() any { b := make([]byte, size); return &b }}

// Listener wraps a listener so that its connections read through a buffer.
func Listener(ln net.Listener) net.Listener { return listener{ln} }

type listener struct{ net.Listener }

// Accept returns the next connection, reading through a buffer.
func (l listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &Conn{Conn: c}, nil
}

// Conn is a connection whose small reads are served from a buffer filled by
// one read of the connection. One goroutine reads at a time, as net.Conn's
// readers do.
type Conn struct {
	net.Conn
	buf  *[]byte // nil while nothing is buffered
	r, w int     // the unread bytes are (*buf)[r:w]
}

// Read reads from the buffer, filling it with one read of the connection
// when it is empty; a read as large as the buffer goes to the connection.
func (c *Conn) Read(p []byte) (int, error) {
	if c.buf == nil {
		if len(p) >= size {
			return c.Conn.Read(p)
		}
		c.buf = pool.Get().(*[]byte)
		n, err := c.Conn.Read(*c.buf)
		if n == 0 {
			c.release()
			return 0, err
		}
		c.r, c.w = 0, n
		// An error with data comes back on the next read, which finds the
		// buffer empty and reads the connection again.
	}
	n := copy(p, (*c.buf)[c.r:c.w])
	c.r += n
	if c.r == c.w {
		c.release()
	}
	return n, nil
}

// release gives the drained buffer back.
func (c *Conn) release() {
	pool.Put(c.buf)
	c.buf = nil
}

// CloseWrite shuts the writing side, when the connection underneath can
// (net/http uses it to close an HTTP/1 connection gracefully).
func (c *Conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
