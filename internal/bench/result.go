package bench

import (
	"math"
	"slices"
)

// Workloads.
const (
	// WorkloadPairs is P senders each writing to a receiver of its own, at
	// full speed (Fraction 0) or paced at Fraction of the full speed.
	WorkloadPairs = "pairs"
	// WorkloadGroup is members of one group posting; every post goes to
	// every other member.
	WorkloadGroup = "group"
	// WorkloadIdle is K receivers connected, following their inboxes, and
	// nothing sent.
	WorkloadIdle = "idle"
)

// The baselines (Spartan's systems are in system.go).
const (
	// SystemRelayConnect is the bare relay on connect-go: every ratio's
	// denominator.
	SystemRelayConnect = "relay-connect"
	// SystemRelayGRPC is the bare relay on grpc-go's transport.
	SystemRelayGRPC = "relay-grpc"
)

// Result is what one measured window found.
type Result struct {
	// System is what served: relay-connect, relay-grpc, spartan-memory,
	// spartan-bolt, spartan-cluster (three nodes and Redis), or
	// spartan-remote (-server).
	System string `json:"system"`
	// Workload is pairs, group or idle.
	Workload string `json:"workload"`
	// Fraction is the paced rate as a part of the same system's full speed;
	// 0 is full speed.
	Fraction float64 `json:"fraction,omitempty"`
	// Offered is the paced rate, messages a second (0: full speed).
	Offered float64 `json:"offered_msgs_per_s,omitempty"`
	// Streams is how many receiving streams were open (idle: K).
	Streams int `json:"streams"`
	// Seconds is the window's length.
	Seconds float64 `json:"seconds"`
	// Delivered is how many messages the receivers got in the window.
	Delivered int64 `json:"delivered"`
	// MsgsPerSec is Delivered / Seconds.
	MsgsPerSec float64 `json:"msgs_per_s"`
	// Latency is send to receive time of the messages sent in the window.
	Latency Percentiles `json:"latency"`
	// ServerCPU is the CPU seconds of the server processes (and Redis) in
	// the window; CPUPer10k is per 10,000 delivered messages.
	ServerCPU float64 `json:"server_cpu_s"`
	CPUPer10k float64 `json:"server_cpu_s_per_10k_msgs,omitempty"`
	// ReadsPerMsg and WritesPerMsg are the servers' read and write system
	// calls per delivered message.
	ReadsPerMsg  float64 `json:"read_syscalls_per_msg,omitempty"`
	WritesPerMsg float64 `json:"write_syscalls_per_msg,omitempty"`
	// DriverCPU is the CPU seconds of the load driver (this process) in the
	// window; OtherCPU what the rest of the machine used meanwhile (busy
	// time less the servers' and the driver's): a window where others took
	// much is noisy.
	DriverCPU float64 `json:"driver_cpu_s"`
	OtherCPU  float64 `json:"other_cpu_s"`
	// KiBPerStream is the servers' resident memory grown per idle stream.
	KiBPerStream float64 `json:"kib_per_idle_stream,omitempty"`
	// LiveKiBPerStream is the servers' live memory (heap in use and
	// goroutine stacks, each after a forced garbage collection) grown per
	// idle stream: steadier than RSS, which keeps what the runtime has not
	// yet given back.
	LiveKiBPerStream float64 `json:"live_kib_per_idle_stream,omitempty"`
	// Failed counts sends that failed; LastError is the last one's error.
	Failed    int64  `json:"failed,omitempty"`
	LastError string `json:"last_error,omitempty"`
	// Ratios are this result's figures over the connect-go relay's in the
	// same run, by JSON field name.
	Ratios map[string]float64 `json:"ratio_to_relay_connect,omitempty"`
}

// figures are a result's numbers by JSON name, the ones ratios are taken of.
func (r *Result) figures() map[string]float64 {
	return map[string]float64{
		"msgs_per_s":                r.MsgsPerSec,
		"p50_ms":                    r.Latency.P50,
		"p90_ms":                    r.Latency.P90,
		"p99_ms":                    r.Latency.P99,
		"p999_ms":                   r.Latency.P999,
		"server_cpu_s_per_10k_msgs": r.CPUPer10k,
		"read_syscalls_per_msg":     r.ReadsPerMsg,
		"write_syscalls_per_msg":    r.WritesPerMsg,
		"kib_per_idle_stream":       r.KiBPerStream,
		"live_kib_per_idle_stream":  r.LiveKiBPerStream,
		"server_cpu_s":              r.ServerCPU,
	}
}

// sameWindow says a and b measured the same workload at the same pace.
func sameWindow(a, b *Result) bool {
	return a.Workload == b.Workload && math.Abs(a.Fraction-b.Fraction) < 1e-9
}

// Baseline is the connect-go relay's result to compare r with: the same
// workload at the same pace, or (for a group, which the relay does not
// have) its pairs at full speed, which compares the cost per message.
func Baseline(results []Result, r *Result) *Result {
	var fallback *Result
	for i := range results {
		b := &results[i]
		if b.System != SystemRelayConnect {
			continue
		}
		if sameWindow(b, r) {
			return b
		}
		if b.Workload == WorkloadPairs && b.Fraction == 0 {
			fallback = b
		}
	}
	if r.Workload == WorkloadGroup {
		return fallback
	}
	return nil
}

// AddRatios sets every result's Ratios against its Baseline (the relay's
// own results get none).
func AddRatios(results []Result) {
	for i := range results {
		r := &results[i]
		r.Ratios = nil
		if r.System == SystemRelayConnect {
			continue
		}
		b := Baseline(results, r)
		if b == nil {
			continue
		}
		base := b.figures()
		for name, v := range r.figures() {
			if q := Ratio(v, base[name]); !math.IsNaN(q) && !math.IsInf(q, 0) && v != 0 {
				if r.Ratios == nil {
					r.Ratios = map[string]float64{}
				}
				r.Ratios[name] = q
			}
		}
	}
}

// Aggregate folds the results of several runs into one result per window
// (system, workload, pace), each figure the median over the runs, in the
// order of the first run.
func Aggregate(runs [][]Result) []Result {
	if len(runs) == 0 {
		return nil
	}
	if len(runs) == 1 {
		return slices.Clone(runs[0])
	}
	var out []Result
	for _, first := range runs[0] {
		var same []Result
		for _, run := range runs {
			for _, r := range run {
				if r.System == first.System && sameWindow(&r, &first) {
					same = append(same, r)
				}
			}
		}
		med := func(f func(Result) float64) float64 {
			xs := make([]float64, len(same))
			for i, r := range same {
				xs[i] = f(r)
			}
			return Median(xs)
		}
		agg := first
		agg.Offered = med(func(r Result) float64 { return r.Offered })
		agg.Seconds = med(func(r Result) float64 { return r.Seconds })
		agg.Delivered = int64(med(func(r Result) float64 { return float64(r.Delivered) }))
		agg.MsgsPerSec = med(func(r Result) float64 { return r.MsgsPerSec })
		agg.Latency = Percentiles{
			Count: int64(med(func(r Result) float64 { return float64(r.Latency.Count) })),
			P50:   med(func(r Result) float64 { return r.Latency.P50 }),
			P90:   med(func(r Result) float64 { return r.Latency.P90 }),
			P99:   med(func(r Result) float64 { return r.Latency.P99 }),
			P999:  med(func(r Result) float64 { return r.Latency.P999 }),
		}
		agg.ServerCPU = med(func(r Result) float64 { return r.ServerCPU })
		agg.DriverCPU = med(func(r Result) float64 { return r.DriverCPU })
		agg.OtherCPU = med(func(r Result) float64 { return r.OtherCPU })
		agg.CPUPer10k = med(func(r Result) float64 { return r.CPUPer10k })
		agg.ReadsPerMsg = med(func(r Result) float64 { return r.ReadsPerMsg })
		agg.WritesPerMsg = med(func(r Result) float64 { return r.WritesPerMsg })
		agg.KiBPerStream = med(func(r Result) float64 { return r.KiBPerStream })
		agg.LiveKiBPerStream = med(func(r Result) float64 { return r.LiveKiBPerStream })
		agg.Failed = 0
		for _, r := range same {
			agg.Failed += r.Failed
			if r.LastError != "" {
				agg.LastError = r.LastError
			}
		}
		out = append(out, agg)
	}
	return out
}
