package streamflush_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/spartan-messenger/spartan/internal/streamflush"
)

// countingWriter counts the flushes that reach it.
type countingWriter struct {
	*httptest.ResponseRecorder
	flushes int
}

func (w *countingWriter) Flush() { w.flushes++ }

// TestHold: while held, flushes wait and release makes one of them; a
// batch that asked for none flushes nothing; outside the paths, or outside
// Handler, Hold changes nothing.
func TestHold(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		path    string
		handler func(w http.ResponseWriter, r *http.Request)
		want    int
	}{
		{"three messages, one flush", "/stream", func(w http.ResponseWriter, r *http.Request) {
			release := streamflush.Hold(r.Context())
			for range 3 {
				w.(http.Flusher).Flush()
			}
			release()
		}, 1},
		{"two batches", "/stream", func(w http.ResponseWriter, r *http.Request) {
			for range 2 {
				release := streamflush.Hold(r.Context())
				w.(http.Flusher).Flush()
				w.(http.Flusher).Flush()
				release()
			}
		}, 2},
		{"nothing asked, nothing flushed", "/stream", func(_ http.ResponseWriter, r *http.Request) {
			streamflush.Hold(r.Context())()
		}, 0},
		{"a nested hold is the outer one's", "/stream", func(w http.ResponseWriter, r *http.Request) {
			release := streamflush.Hold(r.Context())
			inner := streamflush.Hold(r.Context())
			w.(http.Flusher).Flush()
			inner()
			w.(http.Flusher).Flush()
			release()
		}, 1},
		{"not held: every flush", "/stream", func(w http.ResponseWriter, _ *http.Request) {
			w.(http.Flusher).Flush()
			w.(http.Flusher).Flush()
		}, 2},
		{"another path: untouched", "/unary", func(w http.ResponseWriter, r *http.Request) {
			release := streamflush.Hold(r.Context())
			w.(http.Flusher).Flush()
			w.(http.Flusher).Flush()
			release()
		}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := &countingWriter{ResponseRecorder: httptest.NewRecorder()}
			streamflush.Handler(http.HandlerFunc(tt.handler), "/stream").ServeHTTP(w, httptest.NewRequest(http.MethodPost, tt.path, nil))
			if w.flushes != tt.want {
				t.Errorf("%d flushes, want %d", w.flushes, tt.want)
			}
		})
	}
}

// TestResponseController: a flush through http.ResponseController is held
// like any other.
func TestResponseController(t *testing.T) {
	t.Parallel()
	w := &countingWriter{ResponseRecorder: httptest.NewRecorder()}
	streamflush.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		release := streamflush.Hold(r.Context())
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Error(err)
		}
		release()
	}), "/stream").ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/stream", nil))
	if w.flushes != 1 {
		t.Errorf("%d flushes, want 1", w.flushes)
	}
}
