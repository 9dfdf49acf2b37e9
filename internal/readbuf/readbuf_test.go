package readbuf

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
)

// countingConn is one end of a pipe that counts the reads that reach it.
type countingConn struct {
	net.Conn
	reads int
}

func (c *countingConn) Read(p []byte) (int, error) {
	c.reads++
	return c.Conn.Read(p)
}

// TestFramesFromOneRead: frames read as a header and a payload each come
// from one read of the connection while they arrived together; the buffer
// is given back once drained; a read as large as the buffer bypasses it;
// the bytes are the bytes sent, in order.
func TestFramesFromOneRead(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		frames    int // 9-byte header + 100-byte payload each, written at once
		readSize  int // 0: header then payload, as an HTTP/2 framer reads
		wantReads int // reads of the connection
	}{
		{"ten frames", 10, 0, 1},
		{"more than a buffer", 200, 0, 2}, // 21,800 bytes: two fills
		{"one large read", 1, size, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			server, client := net.Pipe()
			t.Cleanup(func() { _ = server.Close(); _ = client.Close() })
			counted := &countingConn{Conn: server}
			c := &Conn{Conn: counted}
			var sent bytes.Buffer
			for i := range tt.frames {
				sent.Write(bytes.Repeat([]byte{byte(i)}, 9))
				sent.Write(bytes.Repeat([]byte{byte(i + 1)}, 100))
			}
			want := sent.Bytes()
			go func() {
				// net.Pipe hands a write to reads in pieces no larger than
				// the reader asked for: one write, as a peer's segment.
				_, _ = client.Write(want)
				_ = client.Close()
			}()
			var got []byte
			if tt.readSize > 0 {
				p := make([]byte, tt.readSize)
				n, err := io.ReadAtLeast(c, p, len(want))
				if err != nil {
					t.Fatal(err)
				}
				got = p[:n]
			} else {
				header, payload := make([]byte, 9), make([]byte, 100)
				for range tt.frames {
					if _, err := io.ReadFull(c, header); err != nil {
						t.Fatal(err)
					}
					if _, err := io.ReadFull(c, payload); err != nil {
						t.Fatal(err)
					}
					got = append(append(got, header...), payload...)
				}
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("read %d bytes, not the %d sent", len(got), len(want))
			}
			if counted.reads != tt.wantReads {
				t.Errorf("%d reads of the connection, want %d", counted.reads, tt.wantReads)
			}
			if c.buf != nil {
				t.Error("the buffer is held after everything was read")
			}
			if n, err := c.Read(make([]byte, 9)); n != 0 || !errors.Is(err, io.EOF) {
				t.Errorf("after the end: %d, %v; want 0, EOF", n, err)
			}
			if c.buf != nil {
				t.Error("the buffer is held after the end")
			}
		})
	}
}
