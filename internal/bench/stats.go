package bench

import (
	"math"
	"slices"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Latency is a histogram of send to receive times, safe for concurrent
// use: 1 µs to 60 s at 3 significant digits.
type Latency struct {
	mu sync.Mutex
	h  *hdrhistogram.Histogram
}

// NewLatency returns an empty histogram.
func NewLatency() *Latency {
	return &Latency{h: hdrhistogram.New(1, int64(time.Minute/time.Microsecond), 3)}
}

// Record adds one latency; what is out of range is clamped to it.
func (l *Latency) Record(d time.Duration) {
	us := max(int64(d/time.Microsecond), 1)
	l.mu.Lock()
	if l.h.RecordValue(us) != nil {
		_ = l.h.RecordValue(l.h.HighestTrackableValue())
	}
	l.mu.Unlock()
}

// Merge adds what o holds.
func (l *Latency) Merge(o *Latency) {
	o.mu.Lock()
	snap := hdrhistogram.Import(o.h.Export())
	o.mu.Unlock()
	l.mu.Lock()
	l.h.Merge(snap)
	l.mu.Unlock()
}

// Summary is the percentiles of what was recorded.
func (l *Latency) Summary() Percentiles {
	l.mu.Lock()
	defer l.mu.Unlock()
	ms := func(q float64) float64 { return float64(l.h.ValueAtQuantile(q)) / 1000 }
	return Percentiles{Count: l.h.TotalCount(), P50: ms(50), P90: ms(90), P99: ms(99), P999: ms(99.9)}
}

// Percentiles are latencies in milliseconds, and how many were measured.
type Percentiles struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p999_ms"`
}

// Ratio is ours over base, NaN when either is unknown (NaN) or base is 0.
func Ratio(ours, base float64) float64 {
	if base == 0 || math.IsNaN(base) || math.IsNaN(ours) {
		return math.NaN()
	}
	return ours / base
}

// Median is the middle of xs (the mean of the two middle ones for an even
// count), NaNs left out; NaN when nothing is left.
func Median(xs []float64) float64 {
	var v []float64
	for _, x := range xs {
		if !math.IsNaN(x) {
			v = append(v, x)
		}
	}
	if len(v) == 0 {
		return math.NaN()
	}
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}
