package bench_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spartan-messenger/spartan/internal/bench"
	"github.com/spartan-messenger/spartan/internal/config"
)

// TestServerConfigLoads checks that what the bench writes is a
// configuration spartan-server takes, with the limits out of the way and
// authentication on.
func TestServerConfigLoads(t *testing.T) {
	t.Parallel()
	o := bench.Options{Pairs: 2, Group: 3, Idle: 2}
	tests := []struct {
		store, bolt, redis string
	}{
		{store: "memory"},
		{store: "bolt", bolt: "{dir}/spartan.db"},
		{store: "redis", redis: "redis://127.0.0.1:1/0"},
	}
	for _, tt := range tests {
		t.Run(tt.store, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			cfg := bench.ServerConfigFor(o, tt.store)
			cfg.BoltPath = strings.ReplaceAll(tt.bolt, "{dir}", dir)
			cfg.RedisURL = tt.redis
			text, err := cfg.YAML()
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "config.yaml")
			if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
				t.Fatal(err)
			}
			fs := flag.NewFlagSet("spartan-server", flag.ContinueOnError)
			flags := config.NewFlags(fs)
			if err := fs.Parse([]string{"-config", path}); err != nil {
				t.Fatal(err)
			}
			got, err := config.Load(flags, nil)
			if err != nil {
				t.Fatalf("%v\n%s", err, text)
			}
			if want := []string{"s0", "s1", "r0", "r1", "g0", "g1", "g2", "i0", "i1"}; strings.Join(got.Users, ",") != strings.Join(want, ",") {
				t.Errorf("users %v, want %v", got.Users, want)
			}
			if m := got.Groups["bench"]; len(m) != 3 {
				t.Errorf("group bench: %v", m)
			}
			if !got.Auth.Required {
				t.Error("auth.required is off")
			}
			if got.Store.Kind != tt.store {
				t.Errorf("store %q, want %q", got.Store.Kind, tt.store)
			}
			if got.Limits.ConnsPerAddress != 0 || got.Limits.StreamsPerUser != 0 {
				t.Errorf("limits %+v, want none", got.Limits)
			}
			for name, c := range got.Rate.AllClasses() {
				if c.Calls/max(c.WindowSeconds, 1) < 1_000_000 || c.Burst < 1_000_000 {
					t.Errorf("rate class %s: %+v is not raised", name, c)
				}
			}
			if got.Admin.Addr == "" {
				t.Error("no admin address")
			}
		})
	}
}

func TestServerConfigRefuses(t *testing.T) {
	t.Parallel()
	for _, cfg := range []bench.ServerConfig{
		{Users: []string{"a"}, Store: "bolt"},
		{Users: []string{"a"}, Store: "redis"},
		{Users: []string{"a"}, Store: "etcd"},
	} {
		if _, err := cfg.YAML(); err == nil {
			t.Errorf("%+v: no error", cfg)
		}
	}
}
