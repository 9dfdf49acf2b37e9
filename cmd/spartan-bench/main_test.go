package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spartan-messenger/spartan/internal/bench"
	"github.com/spartan-messenger/spartan/internal/bench/cli"
)

// TestShortRun runs spartan-bench, in this process, against the built
// spartan-server and the built spartan-bench as the relays: tiny loads and
// short windows, every workload once. It checks that each window delivered
// messages and that the report, the Markdown file and the plot come out;
// it asserts nothing about speed.
func TestShortRun(t *testing.T) {
	bin := os.Getenv("TEST_SPARTAN_BIN")
	if bin == "" {
		t.Skip("TEST_SPARTAN_BIN is unset: set it to a directory with the built spartan-server and spartan-bench (go build -o DIR/ ./cmd/...; make test-go does)")
	}
	for _, name := range []string{"spartan-server", "spartan-bench"} {
		if _, err := os.Stat(filepath.Join(bin, name)); err != nil {
			t.Skipf("TEST_SPARTAN_BIN=%s has no %s: %v", bin, name, err)
		}
	}
	dir := t.TempDir()
	md := filepath.Join(dir, "PERFORMANCE.md")
	if err := os.WriteFile(md, []byte("# Intro kept\n\n"+bench.BeginMarker+"\nold\n"+bench.EndMarker+"\n\nOutro kept.\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	svg := filepath.Join(dir, "latency.svg")
	var stdout, stderr bytes.Buffer
	code := cli.Run(t.Context(), []string{
		"-server-bin", filepath.Join(bin, "spartan-server"), "-self", filepath.Join(bin, "spartan-bench"),
		"-pairs", "2", "-inflight", "2", "-group", "3", "-posters", "1", "-idle", "4",
		"-window", "300ms", "-warmup", "100ms", "-fractions", "0.5", "-stores", "memory,bolt",
		"-json", "-md", md, "-svg", svg,
	}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit status %d\nstderr:\n%s", code, stderr.String())
	}
	var rep bench.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("the JSON report: %v\n%s", err, stdout.String())
	}
	want := map[string]bool{}
	for _, sys := range []string{bench.SystemRelayConnect, bench.SystemRelayGRPC, "spartan-memory", "spartan-memory-unary", "spartan-bolt", bench.SystemRedisNode, bench.SystemCluster} {
		want[sys+" pairs 0"], want[sys+" pairs 0.5"] = true, true
	}
	for _, sys := range []string{bench.SystemRelayConnect, bench.SystemRelayGRPC, "spartan-memory"} {
		want[sys+" idle 0"] = true
	}
	want["spartan-memory group 0"] = true
	for _, r := range rep.Results {
		key := r.System + " " + r.Workload + " " + map[bool]string{true: "0.5", false: "0"}[r.Fraction > 0]
		if !want[key] {
			t.Errorf("unexpected result %s", key)
			continue
		}
		delete(want, key)
		if r.Workload != bench.WorkloadIdle && r.Delivered == 0 {
			t.Errorf("%s: nothing delivered", key)
		}
		if r.Workload != bench.WorkloadIdle && r.Latency.Count == 0 {
			t.Errorf("%s: no latency measured", key)
		}
		if r.Workload != bench.WorkloadIdle && r.CPUPer10k <= 0 {
			t.Errorf("%s: no server CPU measured", key)
		}
		if r.Failed > 0 {
			t.Errorf("%s: %d sends failed, the last: %s", key, r.Failed, r.LastError)
		}
		if r.System != bench.SystemRelayConnect && r.Workload == bench.WorkloadPairs && r.Fraction == 0 && r.Ratios["msgs_per_s"] == 0 {
			t.Errorf("%s: no ratio to the relay", key)
		}
	}
	for key := range want {
		t.Errorf("no result for %s", key)
	}
	doc, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"# Intro kept", "Outro kept.", "| spartan-memory |"} {
		if !strings.Contains(string(doc), s) {
			t.Errorf("the Markdown file lacks %q:\n%s", s, doc)
		}
	}
	if strings.Contains(string(doc), "\nold\n") {
		t.Error("the old generated section is still there")
	}
	if plot, err := os.ReadFile(svg); err != nil || !bytes.Contains(plot, []byte("<svg")) {
		t.Errorf("the plot: %v, %.100s", err, plot)
	}
	// Not a terminal: one line per phase, no redrawn lines.
	if strings.Contains(stderr.String(), "\r") {
		t.Error("progress redrawn on a non-terminal")
	}
}

func TestBadFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
	}{
		{"short and long", []string{"-short", "-long"}},
		{"bad fraction", []string{"-fractions", "1.5"}},
		{"no pairs", []string{"-pairs", "0"}},
		{"unknown flag", []string{"-nope"}},
		{"arguments", []string{"extra"}},
		{"missing server", []string{"-server-bin", "/nonexistent/spartan-server", "-relays=false"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			if code := cli.Run(t.Context(), tt.args, &stdout, &stderr); code != 2 {
				t.Errorf("exit status %d, want 2; stderr: %s", code, stderr.String())
			}
		})
	}
}

func TestPrintConfig(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	if code := cli.Run(t.Context(), []string{"-print-config", "-pairs", "1", "-group", "2", "-idle", "0"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit status %d: %s", code, stderr.String())
	}
	for _, want := range []string{"  - s0\n", "  - r0\n", "bench: [g0, g1]", "required: true"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("config lacks %q:\n%s", want, stdout.String())
		}
	}
}
