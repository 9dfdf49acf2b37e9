package bench_test

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/spartan-messenger/spartan/internal/bench"
)

func TestReplaceSection(t *testing.T) {
	t.Parallel()
	b, e := bench.BeginMarker, bench.EndMarker
	tests := []struct {
		name, doc, want string
		wantErr         bool
	}{
		{"empty doc", "", b + "\nnew\n" + e + "\n", false},
		{"no markers", "# Title\n\nText.", "# Title\n\nText.\n" + b + "\nnew\n" + e + "\n", false},
		{"replaces between, keeps around", "intro\n" + b + "\nold\nold\n" + e + "\noutro\n", "intro\n" + b + "\nnew\n" + e + "\noutro\n", false},
		{"begin only", "x\n" + b + "\n", "", true},
		{"end before begin", e + "\n" + b + "\n", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := bench.ReplaceSection(tt.doc, "new\n\n")
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got\n%q\nwant\n%q", got, tt.want)
			}
			if err == nil {
				again, err := bench.ReplaceSection(got, "new")
				if err != nil || again != got {
					t.Errorf("a second run changed the document: %q, %v", again, err)
				}
			}
		})
	}
}

// results is a run of two relays and one server.
func results() []bench.Result {
	return []bench.Result{
		{System: bench.SystemRelayConnect, Workload: bench.WorkloadIdle, Streams: 100, KiBPerStream: 40, LiveKiBPerStream: 30},
		{System: bench.SystemRelayConnect, Workload: bench.WorkloadPairs, Streams: 16, MsgsPerSec: 20000, CPUPer10k: 0.5, ReadsPerMsg: 4, WritesPerMsg: 4,
			Latency: bench.Percentiles{Count: 10, P50: 1, P90: 2, P99: 4, P999: 8}},
		{System: bench.SystemRelayConnect, Workload: bench.WorkloadPairs, Fraction: 0.5, Offered: 10000, MsgsPerSec: 10000, CPUPer10k: 0.6,
			Latency: bench.Percentiles{Count: 10, P50: 1, P99: 2}},
		{System: bench.SystemRelayGRPC, Workload: bench.WorkloadPairs, MsgsPerSec: 40000, CPUPer10k: 0.25, Latency: bench.Percentiles{Count: 1, P50: 0.5}},
		{System: "spartan-memory", Workload: bench.WorkloadIdle, Streams: 100, KiBPerStream: 20, LiveKiBPerStream: 15, ServerCPU: 0.01},
		{System: "spartan-memory", Workload: bench.WorkloadPairs, Streams: 16, MsgsPerSec: 30000, CPUPer10k: 0.25, ReadsPerMsg: 2, WritesPerMsg: 1,
			Latency: bench.Percentiles{Count: 10, P50: 2, P90: 3, P99: 8, P999: 9}},
		{System: "spartan-memory", Workload: bench.WorkloadPairs, Fraction: 0.5, Offered: 15000, MsgsPerSec: 15000, CPUPer10k: 0.3,
			Latency: bench.Percentiles{Count: 10, P50: 3, P99: 5}},
		{System: "spartan-memory", Workload: bench.WorkloadGroup, Streams: 100, MsgsPerSec: 50000, CPUPer10k: 0.1},
		{System: "spartan-cluster", Workload: bench.WorkloadPairs, Fraction: 0.25, Offered: 100, MsgsPerSec: 100},
	}
}

func TestAddRatios(t *testing.T) {
	t.Parallel()
	rs := results()
	bench.AddRatios(rs)
	tests := []struct {
		row   int
		field string
		want  float64 // NaN: no ratio
	}{
		{1, "msgs_per_s", math.NaN()}, // the relay itself
		{3, "msgs_per_s", 2},
		{3, "server_cpu_s_per_10k_msgs", 0.5},
		{4, "kib_per_idle_stream", 0.5},
		{4, "live_kib_per_idle_stream", 0.5},
		{5, "msgs_per_s", 1.5},
		{5, "p99_ms", 2},
		{5, "read_syscalls_per_msg", 0.5},
		{6, "p99_ms", 2.5},                     // half load against the relay's half load
		{6, "server_cpu_s_per_10k_msgs", 0.5},  // 0.3 / 0.6
		{7, "server_cpu_s_per_10k_msgs", 0.2},  // a group against the relay's full-speed pairs
		{8, "msgs_per_s", math.NaN()},          // no relay window at 25%
		{5, "kib_per_idle_stream", math.NaN()}, // a figure that is 0
	}
	for _, tt := range tests {
		got, ok := rs[tt.row].Ratios[tt.field]
		if math.IsNaN(tt.want) {
			if ok {
				t.Errorf("row %d %s: ratio %g, want none", tt.row, tt.field, got)
			}
			continue
		}
		if !ok || math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("row %d %s: ratio %g (%v), want %g", tt.row, tt.field, got, ok, tt.want)
		}
	}
}

func TestAggregate(t *testing.T) {
	t.Parallel()
	a, b, c := results(), results(), results()
	b[5].MsgsPerSec, c[5].MsgsPerSec = 10000, 50000
	b[5].Latency.P99, c[5].Latency.P99 = 1, 100
	c[5].Failed, c[5].LastError = 2, "boom"
	got := bench.Aggregate([][]bench.Result{a, b, c})
	if len(got) != len(a) {
		t.Fatalf("%d results, want %d", len(got), len(a))
	}
	if got[5].MsgsPerSec != 30000 || got[5].Latency.P99 != 8 {
		t.Errorf("medians: %g msgs/s, p99 %g; want 30000, 8", got[5].MsgsPerSec, got[5].Latency.P99)
	}
	if got[5].Failed != 2 || got[5].LastError != "boom" {
		t.Errorf("failures: %d %q", got[5].Failed, got[5].LastError)
	}
	if one := bench.Aggregate([][]bench.Result{a}); len(one) != len(a) || one[5].MsgsPerSec != a[5].MsgsPerSec {
		t.Error("one run is not returned as it is")
	}
}

func TestMarkdownAndJSON(t *testing.T) {
	t.Parallel()
	rs := results()
	bench.AddRatios(rs)
	rep := bench.Report{Summary: bench.Summary{Pairs: 16, InFlight: 8, Runs: 1, Window: "3s"}, Results: rs}
	md := rep.Markdown()
	for _, want := range []string{
		"| relay-connect | 20,000 | 0.50 | 4.00 + 4.00 | 1.00 / 2.00 | 40.0; 30.0 | 0.00 | 0.00 |",
		"| spartan-memory | 30,000 (1.50×) | 0.25 (0.50×) | 2.00 (0.50×) + 1.00 (0.25×) | 3.00 (3.00×) / 5.00 (2.50×) | 20.0 (0.50×); 15.0 (0.50×) | 0.01 | 0.00 |",
		"| spartan-cluster | – | – | – | – | – | – | – |",
		"| spartan-memory | group (100 streams) | max | 50,000 (2.50×) |",
		"| spartan-cluster | pairs (0 streams) | 100 (25%) | 100 |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the Markdown lacks %q:\n%s", want, md)
		}
	}
	var buf bytes.Buffer
	if err := rep.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var back bench.Report
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Results) != len(rs) || back.Results[5].Ratios["msgs_per_s"] != 1.5 {
		t.Errorf("JSON round trip: %+v", back.Results)
	}
}

func TestWritePlot(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := bench.WritePlot(&buf, results()); err != nil {
		t.Fatal(err)
	}
	svg := buf.String()
	if !strings.HasPrefix(strings.TrimSpace(svg), "<?xml") || !strings.Contains(svg, "<svg") {
		t.Fatalf("not an SVG: %.200s", svg)
	}
	for _, want := range []string{">relay-connect<", ">spartan-memory<"} {
		if !strings.Contains(svg, want) {
			t.Errorf("the plot has no legend %q", want)
		}
	}
	// relay-grpc has no paced window, spartan-cluster no latency: no lines.
	if strings.Contains(svg, ">relay-grpc<") || strings.Contains(svg, ">spartan-cluster<") {
		t.Error("the plot shows a system without paced latencies")
	}
}
