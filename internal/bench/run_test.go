package bench

import (
	"slices"
	"testing"
	"time"
)

func validOptions() Options {
	return Options{
		ServerBin: "/bin/true", Self: "/bin/true", Pairs: 2, InFlight: 1, Group: 3, Posters: 1, Idle: 1,
		Payload: 64, Warmup: 0, Window: time.Second, Runs: 1, Fractions: []float64{0.5},
		Stores: []string{"memory", "bolt"}, Relays: true, Cluster: true, UnaryToo: true,
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(*Options)
		ok     bool
	}{
		{"valid", func(*Options) {}, true},
		{"no group", func(o *Options) { o.Group, o.Posters = 0, 0 }, true},
		{"no pairs", func(o *Options) { o.Pairs = 0 }, false},
		{"no sends in flight", func(o *Options) { o.InFlight = 0 }, false},
		{"group of one", func(o *Options) { o.Group = 1 }, false},
		{"more posters than members", func(o *Options) { o.Posters = 4 }, false},
		{"payload too small for the stamp", func(o *Options) { o.Payload = 10 }, false},
		{"fraction of 1", func(o *Options) { o.Fractions = []float64{1} }, false},
		{"unknown store", func(o *Options) { o.Stores = []string{"etcd"} }, false},
		{"no window", func(o *Options) { o.Window = 0 }, false},
		{"no runs", func(o *Options) { o.Runs = 0 }, false},
		{"no server binary", func(o *Options) { o.ServerBin = "" }, false},
		{"remote needs no binary", func(o *Options) { o.ServerBin, o.Server = "", "127.0.0.1:1" }, true},
		{"relays need the bench binary", func(o *Options) { o.Self = "" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := validOptions()
			tt.change(&o)
			if err := o.Validate(); (err == nil) != tt.ok {
				t.Errorf("Validate() = %v, want ok %v", err, tt.ok)
			}
		})
	}
}

func TestSystemNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(*Options)
		want   []string
	}{
		{"everything", func(*Options) {}, []string{"relay-connect", "relay-grpc", "spartan-memory", "spartan-memory-unary", "spartan-bolt", "spartan-redis", "spartan-cluster"}},
		{"unary everywhere", func(o *Options) { o.Unary = true }, []string{"relay-connect", "relay-grpc", "spartan-memory", "spartan-bolt", "spartan-redis", "spartan-cluster"}},
		{"bolt first, no relays", func(o *Options) { o.Relays, o.Stores = false, []string{"bolt"} }, []string{"spartan-bolt", "spartan-bolt-unary", "spartan-redis", "spartan-cluster"}},
		{"remote", func(o *Options) { o.Server = "h:1" }, []string{"relay-connect", "relay-grpc", "spartan-remote"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := validOptions()
			tt.change(&o)
			if got := o.systemNames(); !slices.Equal(got, tt.want) {
				t.Errorf("systems %v, want %v", got, tt.want)
			}
			for _, name := range o.systemNames() {
				if store, ok := storeOf(name); ok && store != "memory" && store != "bolt" {
					t.Errorf("%s: store %q", name, store)
				}
			}
		})
	}
}
