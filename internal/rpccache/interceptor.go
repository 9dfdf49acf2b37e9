package rpccache

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"sync"
	"sync/atomic"

	"connectrpc.com/connect"
	"github.com/hashicorp/golang-lru/v2/simplelru"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	spartanv1 "github.com/spartan-messenger/spartan/gen/spartan/v1"
	"github.com/spartan-messenger/spartan/internal/caller"
)

// Options bound an Interceptor's cache and say who calls.
type Options struct {
	// MaxEntries bounds the number of cached responses (at least 1).
	MaxEntries int
	// MaxBytes bounds the cached responses' total encoded size (at least 1).
	MaxBytes int64
	// Caller names the user making a call (default: caller.Of, the one
	// place that decides who calls).
	Caller func(ctx context.Context, req connect.AnyRequest) string
}

// Stats are an Interceptor's counters and current size.
type Stats struct {
	// Hits counts calls answered from the cache.
	Hits uint64
	// Misses counts cacheable calls that ran the handler.
	Misses uint64
	// Stale counts misses because a write had made the entry stale.
	Stale uint64
	// Entries and Bytes are the cache's current size.
	Entries int
	Bytes   int64
}

// Interceptor is a connect.Interceptor that caches the responses of the
// cacheable RPCs (see Cacheable) of a server. Streams pass through. It is
// safe for concurrent use.
//
// Handlers and outer interceptors must not change a response message after
// it is returned: cached messages are shared between calls.
type Interceptor struct {
	scopes   map[string]spartanv1.CacheScope
	versions *Versions
	opts     Options

	mu    sync.Mutex
	lru   *simplelru.LRU[string, *entry]
	bytes int64

	hits, misses, stale atomic.Uint64
}

var _ connect.Interceptor = (*Interceptor)(nil)

// entry is one cached response and the caller version it was computed at.
type entry struct {
	version uint64
	resp    connect.AnyResponse
	header  http.Header
	trailer http.Header
	size    int64
}

// New returns an Interceptor for the cacheable RPCs of services; versions
// tells it which entries writes have made stale.
func New(services []protoreflect.ServiceDescriptor, versions *Versions, opts Options) (*Interceptor, error) {
	if opts.MaxEntries < 1 || opts.MaxBytes < 1 {
		return nil, fmt.Errorf("response cache bounds must be positive: %d entries, %d bytes", opts.MaxEntries, opts.MaxBytes)
	}
	scopes, err := Cacheable(services...)
	if err != nil {
		return nil, err
	}
	if opts.Caller == nil {
		opts.Caller = func(ctx context.Context, req connect.AnyRequest) string { return caller.Of(ctx, req.Any()) }
	}
	i := &Interceptor{scopes: scopes, versions: versions, opts: opts}
	i.lru, err = simplelru.NewLRU(opts.MaxEntries, func(_ string, e *entry) { i.bytes -= e.size })
	if err != nil {
		return nil, fmt.Errorf("new LRU of %d entries: %w", opts.MaxEntries, err)
	}
	return i, nil
}

// Procedures lists the procedures the interceptor caches.
func (i *Interceptor) Procedures() []string {
	out := make([]string, 0, len(i.scopes))
	for p := range i.scopes {
		out = append(out, p)
	}
	return out
}

// Stats returns the counters and the current size.
func (i *Interceptor) Stats() Stats {
	i.mu.Lock()
	entries, bytes := i.lru.Len(), i.bytes
	i.mu.Unlock()
	return Stats{Hits: i.hits.Load(), Misses: i.misses.Load(), Stale: i.stale.Load(), Entries: entries, Bytes: bytes}
}

// WrapUnary answers cacheable calls from the cache while their entry is
// current, and caches the successful responses of the others.
func (i *Interceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		spec := req.Spec()
		scope, ok := i.scopes[spec.Procedure]
		if !ok || spec.IsClient {
			return next(ctx, req)
		}
		msg, ok := req.Any().(proto.Message)
		if !ok {
			return next(ctx, req)
		}
		caller := i.opts.Caller(ctx, req)
		raw, err := proto.MarshalOptions{Deterministic: true}.Marshal(msg)
		if err != nil {
			return next(ctx, req)
		}
		key := spec.Procedure + "\x00" + caller + "\x00" + string(raw)
		// The version is read before the handler runs: a write that
		// commits meanwhile leaves the entry behind it, so it is never
		// served after that write.
		var version uint64
		if scope != spartanv1.CacheScope_CACHE_SCOPE_STATIC {
			version = i.versions.Of(caller)
		}
		if resp, ok := i.get(key, version); ok {
			return resp, nil
		}
		resp, err := next(ctx, req)
		if err != nil || resp == nil {
			return resp, err
		}
		i.put(key, version, resp)
		return resp, nil
	}
}

// WrapStreamingClient leaves client streams alone.
func (i *Interceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

// WrapStreamingHandler leaves streams alone: they are never cached.
func (i *Interceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}

// get returns a fresh response for the entry under key if it was computed
// at version.
func (i *Interceptor) get(key string, version uint64) (connect.AnyResponse, bool) {
	i.mu.Lock()
	e, ok := i.lru.Get(key)
	if ok && e.version != version {
		i.lru.Remove(key)
		i.mu.Unlock()
		i.stale.Add(1)
		i.misses.Add(1)
		return nil, false
	}
	i.mu.Unlock()
	if !ok {
		i.misses.Add(1)
		return nil, false
	}
	i.hits.Add(1)
	return e.response(), true
}

// put caches resp under key, evicting least recently used entries to stay
// within the bounds.
func (i *Interceptor) put(key string, version uint64, resp connect.AnyResponse) {
	msg, ok := resp.Any().(proto.Message)
	if !ok {
		return
	}
	e := &entry{
		version: version,
		resp:    resp,
		header:  resp.Header().Clone(),
		trailer: resp.Trailer().Clone(),
		size:    int64(len(key) + proto.Size(msg)),
	}
	if e.size > i.opts.MaxBytes {
		return
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	i.lru.Remove(key)
	i.lru.Add(key, e)
	i.bytes += e.size
	for i.bytes > i.opts.MaxBytes {
		i.lru.RemoveOldest()
	}
}

// response returns a new *connect.Response of the entry's type holding the
// cached message and copies of its metadata, so callers may set headers.
func (e *entry) response() connect.AnyResponse {
	rv := reflect.New(reflect.TypeOf(e.resp).Elem())
	rv.Elem().FieldByName("Msg").Set(reflect.ValueOf(e.resp.Any()))
	out, _ := rv.Interface().(connect.AnyResponse)
	for k, vs := range e.header {
		out.Header()[k] = append([]string(nil), vs...)
	}
	for k, vs := range e.trailer {
		out.Trailer()[k] = append([]string(nil), vs...)
	}
	return out
}
