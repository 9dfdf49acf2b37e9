// Package streamflush lets a streaming handler send several messages with one
// flush. connect-go flushes the response after every message it sends; over
// HTTP/2 each flush is a hand-off to the connection's serve loop and a frame
// write of its own. A handler that knows more messages follow holds the
// flushes back, sends them all, and releases: one flush for the batch.
package streamflush

import (
	"context"
	"net/http"
)

// writer is a response writer whose flushes can be held back.
type writer struct {
	http.ResponseWriter
	flusher http.Flusher
	held    bool // flushes wait for release
	pending bool // a flush was asked for while held
}

// Flush flushes now, or at release while held.
func (w *writer) Flush() {
	if w.held {
		w.pending = true
		return
	}
	w.flusher.Flush()
}

// Unwrap gives http.ResponseController the writer underneath.
func (w *writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }

type key struct{}

// Handler serves next, letting the handlers of the requests whose path is one
// of paths hold back their flushes with Hold. Other requests, and responses
// that cannot flush, pass through untouched.
func Handler(next http.Handler, paths ...string) http.Handler {
	wanted := make(map[string]bool, len(paths))
	for _, p := range paths {
		wanted[p] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := w.(http.Flusher)
		if !ok || !wanted[r.URL.Path] {
			next.ServeHTTP(w, r)
			return
		}
		ww := &writer{ResponseWriter: w, flusher: f}
		next.ServeHTTP(ww, r.WithContext(context.WithValue(r.Context(), key{}, ww)))
	})
}

// Hold holds back the flushes of the response of the request whose context
// ctx is (or descends from) until release is called, which flushes once if
// any flush was asked for meanwhile. The goroutine that sends the messages
// calls both. Outside Handler, Hold does nothing.
func Hold(ctx context.Context) (release func()) {
	w, _ := ctx.Value(key{}).(*writer)
	if w == nil || w.held {
		return func() {}
	}
	w.held = true
	return func() {
		w.held = false
		if w.pending {
			w.pending = false
			w.flusher.Flush()
		}
	}
}
