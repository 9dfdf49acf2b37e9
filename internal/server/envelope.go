package server

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"connectrpc.com/connect"
)

// withEnvelopeCheck reports a request body that ends inside a message of the
// gRPC, gRPC-Web or Connect streaming framing (a length prefix that promised
// more bytes than came) as the client's fault, InvalidArgument, with a
// sentence; connect-go would call it an internal error.
func withEnvelopeCheck(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if enveloped(r.Header.Get("Content-Type")) {
			r.Body = &envelopeBody{ReadCloser: r.Body}
		}
		next.ServeHTTP(w, r)
	})
}

// enveloped says whether a request of this content type frames its
// messages with a 5-byte prefix (flags, big-endian length).
func enveloped(contentType string) bool {
	for _, prefix := range []string{"application/grpc", "application/connect+"} {
		if strings.HasPrefix(contentType, prefix) {
			return true
		}
	}
	return false
}

// envelopeBody follows the framing of the bytes read through it.
type envelopeBody struct {
	io.ReadCloser
	prefix    [5]byte
	inPrefix  int    // bytes of the current prefix read so far
	remaining uint64 // bytes of the current message still to come
	promised  uint64
}

func (b *envelopeBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.follow(p[:n])
	if errors.Is(err, io.EOF) && (b.inPrefix > 0 || b.remaining > 0) {
		return n, connect.NewError(connect.CodeInvalidArgument, b.cut())
	}
	return n, err
}

// follow advances through the framing over data.
func (b *envelopeBody) follow(data []byte) {
	for len(data) > 0 {
		if b.remaining > 0 {
			k := min(uint64(len(data)), b.remaining)
			b.remaining -= k
			data = data[k:]
			continue
		}
		k := copy(b.prefix[b.inPrefix:], data)
		b.inPrefix += k
		data = data[k:]
		if b.inPrefix == len(b.prefix) {
			b.inPrefix = 0
			b.promised = uint64(binary.BigEndian.Uint32(b.prefix[1:]))
			b.remaining = b.promised
		}
	}
}

// cut says how the body ended early.
func (b *envelopeBody) cut() error {
	if b.inPrefix > 0 {
		return fmt.Errorf("the request ended inside a message's 5-byte length prefix, after %d bytes", b.inPrefix)
	}
	return fmt.Errorf("the request ended %d bytes into a message whose length prefix promised %d", b.promised-b.remaining, b.promised)
}
