// Package metrics is the server's Prometheus metrics, served on the
// loopback-only admin address (never the public port): messages sent and
// delivered, open streams, refused calls by code, cache hits, store commit
// latency and Redis commands. Each server has its own registry, so tests
// and several servers in one process do not share counters.
package metrics

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"connectrpc.com/connect"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	goredis "github.com/redis/go-redis/v9"

	spartanv1 "github.com/spartan-messenger/spartan/gen/spartan/v1"
	"github.com/spartan-messenger/spartan/internal/chat"
)

// Metrics holds the server's metrics.
type Metrics struct {
	reg       *prometheus.Registry
	sent      *prometheus.CounterVec
	delivered prometheus.Counter
	streams   prometheus.Gauge
	refused   *prometheus.CounterVec
	commits   prometheus.Histogram
	redis     prometheus.Counter
}

// New makes the metrics, with the Go runtime's and the process's.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "spartan_messages_sent_total", Help: "Messages the server took (SendMsg answered OK), by kind: direct or group.",
		}, []string{"kind"}),
		delivered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "spartan_messages_delivered_total", Help: "Messages and events written to ReceiveMsg streams.",
		}),
		streams: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "spartan_streams_open", Help: "ReceiveMsg streams open now.",
		}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "spartan_calls_refused_total", Help: "Calls that ended with an error, by gRPC code.",
		}, []string{"code"}),
		commits: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "spartan_store_commit_seconds", Help: "Time of a store transaction that writes, commit included.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}),
		redis: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "spartan_redis_commands_total", Help: "Commands sent to Redis (each of a pipeline counted).",
		}),
	}
	m.reg.MustRegister(m.sent, m.delivered, m.streams, m.refused, m.commits, m.redis,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in Prometheus's text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Counter registers a counter read from fn when the metrics are scraped (a
// cache's hits, say).
func (m *Metrics) Counter(name, help string, fn func() float64) {
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, fn))
}

// Store times the writing transactions of s.
func (m *Metrics) Store(s chat.Store) chat.Store { return &timedStore{Store: s, commits: m.commits} }

type timedStore struct {
	chat.Store
	commits prometheus.Histogram
}

func (t *timedStore) Update(ctx context.Context, fn func(tx chat.Tx) error) error {
	start := time.Now()
	err := t.Store.Update(ctx, fn)
	t.commits.Observe(time.Since(start).Seconds())
	return err
}

// RedisHook counts the commands a Redis client sends.
func (m *Metrics) RedisHook() goredis.Hook { return redisHook{count: m.redis} }

type redisHook struct{ count prometheus.Counter }

func (h redisHook) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (h redisHook) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		h.count.Inc()
		return next(ctx, cmd)
	}
}

func (h redisHook) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		h.count.Add(float64(len(cmds)))
		return next(ctx, cmds)
	}
}

// Interceptor counts, outside every other interceptor: sends taken, calls
// refused by code, open streams and what they deliver.
func (m *Metrics) Interceptor() connect.Interceptor { return interceptor{m} }

type interceptor struct{ m *Metrics }

func (i interceptor) refuse(err error) {
	if err != nil && !errors.Is(err, context.Canceled) {
		i.m.refused.WithLabelValues(connect.CodeOf(err).String()).Inc()
	}
}

func (i interceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		res, err := next(ctx, req)
		if req.Spec().IsClient {
			return res, err
		}
		i.refuse(err)
		if send, ok := req.Any().(*spartanv1.SendMsgRequest); ok && err == nil {
			i.m.sent.WithLabelValues(sendKind(send)).Inc()
		}
		return res, err
	}
}

// sendKind is the label of a send: a direct message or a group post.
func sendKind(m *spartanv1.SendMsgRequest) string {
	if m.GetGroup() != "" {
		return "group"
	}
	return "direct"
}

func (i interceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (i interceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		i.m.streams.Inc()
		defer i.m.streams.Dec()
		err := next(ctx, &countedConn{StreamingHandlerConn: conn, m: i.m})
		i.refuse(err)
		return err
	}
}

// countedConn counts the messages a stream sends (not the empty send that
// flushes its headers), and on a stream of sends, the sends it answers.
type countedConn struct {
	connect.StreamingHandlerConn
	m *Metrics

	mu    sync.Mutex
	kinds []string // of the sends received and not answered yet, oldest first
}

func (c *countedConn) Receive(msg any) error {
	err := c.StreamingHandlerConn.Receive(msg)
	if send, ok := msg.(*spartanv1.SendMsgRequest); ok && err == nil {
		c.mu.Lock()
		c.kinds = append(c.kinds, sendKind(send))
		c.mu.Unlock()
	}
	return err
}

func (c *countedConn) Send(msg any) error {
	err := c.StreamingHandlerConn.Send(msg)
	switch m := msg.(type) {
	case *spartanv1.Message:
		if m != nil && err == nil {
			c.m.delivered.Inc()
		}
	case *spartanv1.SendMsgResponse:
		if m == nil {
			break
		}
		// Sends are answered in order: this answers the oldest.
		c.mu.Lock()
		kind := ""
		if len(c.kinds) > 0 {
			kind, c.kinds = c.kinds[0], c.kinds[1:]
		}
		c.mu.Unlock()
		if err == nil && kind != "" {
			c.m.sent.WithLabelValues(kind).Inc()
		}
	}
	return err
}
