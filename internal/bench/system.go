package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	spartan "github.com/spartan-messenger/spartan/clients/go"
)

// Kinds of system.
const (
	kindSpartan = "spartan"
	kindConnect = "connect"
	kindGRPC    = "grpc"
)

// system is what one part of a run measures: one or more processes (or a
// server elsewhere) and how to reach them.
type system struct {
	name  string
	kind  string
	nodes []string   // addresses users connect to
	procs []*process // the processes whose CPU is the server's
	extra []int      // more pids to measure (-server-pid)
	keys  string     // keystores, for Spartan users
	unary bool       // Spartan clients send unary only
	opts  Options
}

// pids are the processes measured.
func (s *system) pids() []int {
	out := append([]int(nil), s.extra...)
	for _, p := range s.procs {
		out = append(out, p.pid())
	}
	return out
}

// stop stops the processes, servers first.
func (s *system) stop() {
	for i := len(s.procs) - 1; i >= 0; i-- {
		s.procs[i].stop()
	}
}

// alive returns an error when one of the processes has exited.
func (s *system) alive() error {
	for _, p := range s.procs {
		select {
		case <-p.exited:
			return fmt.Errorf("%s of %s exited (%w):\n%s", p.name, s.name, p.exitError(), p.tail)
		default:
		}
	}
	return nil
}

// dial connects user to node (modulo the nodes).
func (s *system) dial(ctx context.Context, user string, node int) (peer, error) {
	addr := s.nodes[node%len(s.nodes)]
	switch s.kind {
	case kindConnect:
		return dialConnect(addr, user, s.opts.Payload), nil
	case kindGRPC:
		return dialGRPC(addr, user, s.opts.Payload)
	default:
		var opts []spartan.Option
		if s.unary {
			opts = append(opts, spartan.WithUnarySend())
		}
		return dialSpartan(ctx, addr, user, s.keys, s.opts.Payload, opts...)
	}
}

// users are the names of a run's users: pair senders s0..., receivers
// r0..., group members g0..., idle receivers i0....
type users struct {
	senders, receivers, group, idle []string
}

func newUsers(o Options) users {
	names := func(prefix string, n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = prefix + strconv.Itoa(i)
		}
		return out
	}
	return users{
		senders:   names("s", o.Pairs),
		receivers: names("r", o.Pairs),
		group:     names("g", o.Group),
		idle:      names("i", o.Idle),
	}
}

// all is every user.
func (u users) all() []string {
	var out []string
	for _, l := range [][]string{u.senders, u.receivers, u.group, u.idle} {
		out = append(out, l...)
	}
	return out
}

// groupName is the configured group of the run.
const groupName = "bench"

// ServerConfigFor is the configuration a spartan-server needs for a run
// with o: its users and group, the store.
func ServerConfigFor(o Options, store string) ServerConfig {
	u := newUsers(o)
	cfg := ServerConfig{Users: u.all(), Store: store}
	if len(u.group) > 1 {
		cfg.Groups = map[string][]string{groupName: u.group}
	}
	return cfg
}

// startSystem starts what name stands for, in dir.
func startSystem(ctx context.Context, o Options, name, dir string) (*system, error) {
	sys := &system{name: name, opts: o, keys: filepath.Join(dir, "keys"), unary: o.Unary || strings.HasSuffix(name, unarySuffix)}
	if o.Keys != "" {
		sys.keys = o.Keys
	}
	fail := func(err error) (*system, error) {
		sys.stop()
		return nil, err
	}
	switch name {
	case SystemRelayConnect, SystemRelayGRPC:
		sys.kind = kindConnect
		transport := RelayConnect
		if name == SystemRelayGRPC {
			sys.kind, transport = kindGRPC, RelayGRPC
		}
		p, err := startRelay(ctx, o.Self, transport)
		if err != nil {
			return fail(err)
		}
		sys.procs = append(sys.procs, p)
		sys.nodes = []string{p.addr}
	case SystemRemote:
		sys.kind = kindSpartan
		sys.nodes = []string{o.Server}
		if o.ServerPID > 0 {
			sys.extra = []int{o.ServerPID}
		}
	case SystemRedisNode, SystemCluster:
		sys.kind = kindSpartan
		redis, err := startRedis(ctx, filepath.Join(dir, "redis"))
		if err != nil {
			return fail(err)
		}
		sys.procs = append(sys.procs, redis)
		cfg := ServerConfigFor(o, "redis")
		cfg.RedisURL = "redis://" + redis.addr + "/0"
		nodes := 3
		if name == SystemRedisNode {
			nodes = 1
		}
		for i := range nodes {
			p, err := startServer(ctx, o.ServerBin, filepath.Join(dir, "node"+strconv.Itoa(i)), fmt.Sprintf("spartan-server node %d", i), cfg)
			if err != nil {
				return fail(err)
			}
			sys.procs = append(sys.procs, p)
			sys.nodes = append(sys.nodes, p.addr)
		}
	default:
		store, ok := storeOf(name)
		if !ok {
			return nil, fmt.Errorf("unknown system %q", name)
		}
		sys.kind = kindSpartan
		p, err := startServer(ctx, o.ServerBin, filepath.Join(dir, "server"), "spartan-server ("+store+")", ServerConfigFor(o, store))
		if err != nil {
			return fail(err)
		}
		sys.procs = append(sys.procs, p)
		sys.nodes = []string{p.addr}
	}
	return sys, nil
}

// Spartan systems.
const (
	// SystemCluster is three spartan-server nodes sharing one redis-server.
	SystemCluster = "spartan-cluster"
	// SystemRedisNode is one spartan-server on a redis-server: what a node
	// of the cluster does alone.
	SystemRedisNode = "spartan-redis"
	// SystemRemote is a spartan-server the bench did not start (-server).
	SystemRemote = "spartan-remote"
	// systemStorePrefix names one spartan-server on a store:
	// spartan-memory, spartan-bolt.
	systemStorePrefix = "spartan-"
	// unarySuffix marks a system whose clients send unary only:
	// spartan-memory-unary.
	unarySuffix = "-unary"
)

// storeOf is the store of a one-node system name.
func storeOf(name string) (string, bool) {
	store, ok := strings.CutPrefix(strings.TrimSuffix(name, unarySuffix), systemStorePrefix)
	if !ok || (store != "memory" && store != "bolt") {
		return "", false
	}
	return store, true
}
