package bench_test

import (
	"math"
	"sync"
	"testing"
	"time"

	"github.com/spartan-messenger/spartan/internal/bench"
)

func TestLatencyPercentiles(t *testing.T) {
	t.Parallel()
	l := bench.NewLatency()
	// 1..1000 ms, one each.
	var wg sync.WaitGroup
	for i := 1; i <= 1000; i++ {
		wg.Go(func() { l.Record(time.Duration(i) * time.Millisecond) })
	}
	wg.Wait()
	got := l.Summary()
	tests := []struct {
		name      string
		got, want float64
	}{
		{"p50", got.P50, 500},
		{"p90", got.P90, 900},
		{"p99", got.P99, 990},
		{"p99.9", got.P999, 999},
	}
	for _, tt := range tests {
		// 3 significant digits: within 0.1%.
		if math.Abs(tt.got-tt.want) > tt.want*0.001+0.001 {
			t.Errorf("%s = %g ms, want %g", tt.name, tt.got, tt.want)
		}
	}
	if got.Count != 1000 {
		t.Errorf("count %d, want 1000", got.Count)
	}
}

func TestLatencyMergeAndClamp(t *testing.T) {
	t.Parallel()
	a, b := bench.NewLatency(), bench.NewLatency()
	a.Record(2 * time.Millisecond)
	b.Record(time.Hour) // past the range: clamped, not lost
	b.Record(-time.Second)
	a.Merge(b)
	s := a.Summary()
	if s.Count != 3 {
		t.Fatalf("count %d, want 3", s.Count)
	}
	if s.P999 < 59_000 {
		t.Errorf("p99.9 %g ms: the hour was not clamped to the top", s.P999)
	}
}

func TestRatio(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ours, base, want float64
	}{
		{2, 4, 0.5},
		{4, 2, 2},
		{1, 0, math.NaN()},
		{math.NaN(), 1, math.NaN()},
		{1, math.NaN(), math.NaN()},
	}
	for _, tt := range tests {
		got := bench.Ratio(tt.ours, tt.base)
		if math.IsNaN(tt.want) != math.IsNaN(got) || (!math.IsNaN(got) && got != tt.want) {
			t.Errorf("Ratio(%g, %g) = %g, want %g", tt.ours, tt.base, got, tt.want)
		}
	}
}

func TestMedian(t *testing.T) {
	t.Parallel()
	tests := []struct {
		xs   []float64
		want float64
	}{
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{math.NaN(), 5}, 5},
		{nil, math.NaN()},
	}
	for _, tt := range tests {
		got := bench.Median(tt.xs)
		if math.IsNaN(tt.want) != math.IsNaN(got) || (!math.IsNaN(got) && got != tt.want) {
			t.Errorf("Median(%v) = %g, want %g", tt.xs, got, tt.want)
		}
	}
}

func TestStamp(t *testing.T) {
	t.Parallel()
	at := time.Unix(1_790_000_000, 123_456_789)
	for _, size := range []int{0, 20, 64, 93} {
		b := bench.Stamp(at, size)
		if len(b) != max(size, 20) {
			t.Errorf("size %d: %d bytes", size, len(b))
		}
		got, err := bench.ParseStamp(b)
		if err != nil || !got.Equal(at) {
			t.Errorf("size %d: ParseStamp = %v, %v; want %v", size, got, err, at)
		}
	}
	if _, err := bench.ParseStamp([]byte("short")); err == nil {
		t.Error("ParseStamp of a short text: no error")
	}
	if _, err := bench.ParseStamp([]byte("not a number at all.....")); err == nil {
		t.Error("ParseStamp of words: no error")
	}
}
