package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spartan-messenger/spartan/internal/procstat"
)

// Options are what a run does.
type Options struct {
	// ServerBin is the spartan-server binary to start.
	ServerBin string
	// Server, when set, is a running spartan-server to drive instead
	// (host:port); ServerPID, when set, is its process, to measure.
	Server    string
	ServerPID int
	// Self is the spartan-bench binary, re-executed as the relays.
	Self string
	// Dir holds the run's files (configurations, bolt files, keystores).
	Dir string
	// Keys, when set, holds the users' keystores instead of Dir, kept from
	// run to run: a server that outlives one run (-server) has bound the
	// users' keys on first use and refuses others.
	Keys string

	// Pairs is P, the one-on-one pairs; InFlight is how many sends each
	// sender keeps in flight.
	Pairs, InFlight int
	// Group is G, the members of the group, and Posters how many of them
	// post (0: no group workload).
	Group, Posters int
	// Idle is K, the idle receivers (0: no idle workload).
	Idle int
	// Payload is the size of every text, in bytes, before sealing.
	Payload int
	// Warmup and Window are each window's warm-up and measured time; Runs
	// is how many times everything runs (figures are medians).
	Warmup, Window time.Duration
	Runs           int
	// Fractions are the paced rates, as parts of each system's full
	// speed, for the latency plot; 0.5 is the "half load" of the table.
	Fractions []float64
	// Stores are the stores of the one-node Spartan servers (memory,
	// bolt); the first also runs the group and idle workloads.
	Stores []string
	// Relays runs the two baselines; Cluster runs three nodes on Redis.
	Relays, Cluster bool
	// Unary makes every Spartan client send with unary SendMsg calls
	// (spartan.WithUnarySend), never on a send stream; UnaryToo adds,
	// beside the first store's system, the same system with unary sends
	// (spartan-memory-unary), to compare the two send paths in one run.
	Unary, UnaryToo bool

	// Progress is where progress goes (stderr); TTY says it is a terminal.
	Progress io.Writer
	TTY      bool
}

// Validate checks the options.
func (o *Options) Validate() error {
	switch {
	case o.Pairs < 1:
		return fmt.Errorf("pairs %d: want at least 1", o.Pairs)
	case o.InFlight < 1:
		return fmt.Errorf("in-flight %d: want at least 1", o.InFlight)
	case o.Group == 1 || o.Group < 0:
		return fmt.Errorf("group %d: want 0 (none) or at least 2 members", o.Group)
	case o.Group > 0 && (o.Posters < 1 || o.Posters > o.Group):
		return fmt.Errorf("posters %d: want 1 to the group's %d members", o.Posters, o.Group)
	case o.Idle < 0:
		return fmt.Errorf("idle %d: want 0 or more", o.Idle)
	case o.Payload < stampDigits:
		return fmt.Errorf("payload %d: want at least %d bytes (the send time)", o.Payload, stampDigits)
	case o.Window <= 0 || o.Warmup < 0:
		return errors.New("window must be positive and warm-up not negative")
	case o.Runs < 1:
		return fmt.Errorf("runs %d: want at least 1", o.Runs)
	}
	for _, f := range o.Fractions {
		if f <= 0 || f >= 1 {
			return fmt.Errorf("fraction %g: want between 0 and 1", f)
		}
	}
	for _, s := range o.Stores {
		if s != "memory" && s != "bolt" {
			return fmt.Errorf("store %q: want memory or bolt", s)
		}
	}
	if o.Server == "" && o.ServerBin == "" && (len(o.Stores) > 0 || o.Cluster) {
		return errors.New("no spartan-server binary: give -server-bin or -server")
	}
	if o.UnaryToo && len(o.Stores) == 0 {
		return errors.New("unary-too needs a store")
	}
	if o.Relays && o.Self == "" {
		return errors.New("no spartan-bench binary to run the relays")
	}
	return nil
}

// systemNames are the systems a run measures, in order: the baselines
// first.
func (o *Options) systemNames() []string {
	var out []string
	if o.Relays {
		out = append(out, SystemRelayConnect, SystemRelayGRPC)
	}
	if o.Server != "" {
		return append(out, SystemRemote)
	}
	for i, s := range o.Stores {
		out = append(out, systemStorePrefix+s)
		if i == 0 && o.UnaryToo && !o.Unary {
			out = append(out, systemStorePrefix+s+unarySuffix)
		}
	}
	if o.Cluster {
		out = append(out, SystemRedisNode, SystemCluster)
	}
	return out
}

// Run runs every system's workloads o.Runs times and returns the results,
// each the median over the runs, with their ratios to the connect-go relay.
func Run(ctx context.Context, o Options) ([]Result, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	d := &driver{opts: o, proc: procstat.NewReader(), prog: newProgress(o.Progress, o.TTY)}
	var runs [][]Result
	for run := range o.Runs {
		var results []Result
		for _, name := range o.systemNames() {
			if o.Runs > 1 {
				d.prog.note(fmt.Sprintf("run %d of %d: %s", run+1, o.Runs, name))
			}
			dir := filepath.Join(o.Dir, fmt.Sprintf("run%d-%s", run, name))
			rs, err := d.system(ctx, name, dir)
			results = append(results, rs...)
			if err != nil {
				out := Aggregate(append(runs, results))
				AddRatios(out)
				return out, err
			}
		}
		runs = append(runs, results)
	}
	out := Aggregate(runs)
	AddRatios(out)
	return out, nil
}

// system starts one system, runs its workloads and stops it.
func (d *driver) system(ctx context.Context, name, dir string) ([]Result, error) {
	o := d.opts
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	d.prog.update(name+": starting", 0, 0, 0)
	sys, err := startSystem(ctx, o, name, dir)
	if err != nil {
		return nil, err
	}
	defer sys.stop()
	var results []Result
	keep := func(r Result, err error) error {
		if err == nil {
			err = sys.alive()
		}
		if r.System != "" {
			results = append(results, r)
		}
		return err
	}
	// The first Spartan system (and every relay) does everything; the
	// others the pairs only.
	full := sys.kind != kindSpartan || name == SystemRemote || (len(o.Stores) > 0 && name == systemStorePrefix+o.Stores[0])
	if full && o.Idle > 0 {
		if err := keep(d.idle(ctx, sys)); err != nil {
			return results, err
		}
	}
	rs, err := d.pairs(ctx, sys, name == SystemCluster)
	results = append(results, rs...)
	if err == nil {
		err = sys.alive()
	}
	if err != nil {
		return results, err
	}
	if full && sys.kind == kindSpartan && o.Group > 1 {
		if err := keep(d.group(ctx, sys)); err != nil {
			return results, err
		}
	}
	return results, nil
}

// idle connects K receivers, waits until all follow their inboxes, and
// measures the servers' memory per stream and their CPU while nothing is
// sent.
func (d *driver) idle(ctx context.Context, sys *system) (Result, error) {
	names := newUsers(d.opts).idle
	label := fmt.Sprintf("%s idle, %d streams", sys.name, len(names))
	before, measured, err := d.sample(sys)
	if err != nil {
		return Result{}, err
	}
	live0, liveKnown, err := sys.liveMemory(ctx)
	if err != nil {
		return Result{}, err
	}
	_, done, err := d.follow(ctx, sys, names, label)
	if err != nil {
		return Result{}, err
	}
	defer done()
	// Let the presence news of the last streams reach the others.
	if err := d.wait(ctx, d.opts.Warmup, label+", settling", nil); err != nil {
		return Result{}, err
	}
	rec := newRecorder()
	d.rec.Store(rec)
	w, err := d.measure(ctx, sys, rec, label)
	if err != nil {
		return Result{}, err
	}
	res := d.result(sys, WorkloadIdle, 0, 0, len(names), w, rec)
	if measured {
		grown := float64(w.after.RSS) - float64(before.RSS)
		res.KiBPerStream = grown / float64(len(names)) / 1024
	}
	if liveKnown {
		live1, _, err := sys.liveMemory(ctx)
		if err != nil {
			return Result{}, err
		}
		res.LiveKiBPerStream = (float64(live1) - float64(live0)) / float64(len(names)) / 1024
	}
	d.prog.done(fmt.Sprintf("%s: %.1f KiB per stream (RSS), %.1f KiB live, %.2f CPU s in %.0f s", label, res.KiBPerStream, res.LiveKiBPerStream, res.ServerCPU, res.Seconds))
	return res, nil
}

// pairs connects the P pairs (on a cluster, each receiver on the node
// after its sender's), runs them at full speed, then paced at each of
// opts.Fractions of that.
func (d *driver) pairs(ctx context.Context, sys *system, spread bool) ([]Result, error) {
	u := newUsers(d.opts)
	p := len(u.senders)
	label := fmt.Sprintf("%s pairs", sys.name)
	d.prog.update(label+": connecting", 0, 0, 0)
	peers := make([]peer, 2*p)
	if err := parallel(ctx, 2*p, func(ctx context.Context, i int) error {
		name, node := u.senders[i%p], i%p
		if i >= p {
			name = u.receivers[i-p]
			if spread {
				node++
			}
		}
		var err error
		peers[i], err = sys.dial(ctx, name, node)
		return err
	}); err != nil {
		return nil, fmt.Errorf("%s: %w", label, err)
	}
	if sys.kind == kindSpartan {
		if err := parallel(ctx, p, func(ctx context.Context, i int) error {
			return befriend(ctx, peers[i].(*spartanPeer), peers[p+i].(*spartanPeer))
		}); err != nil {
			return nil, fmt.Errorf("%s: %w", label, err)
		}
	}
	rctx, stop := context.WithCancel(ctx)
	wait, err := d.receivers(rctx, peers[p:])
	defer closeAll(peers, stop, wait)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", label, err)
	}
	send := func(ctx context.Context, i int, at time.Time) error { return peers[i].send(ctx, u.receivers[i], at) }
	full, err := d.load(ctx, sys, WorkloadPairs, p, p, 1, send, 0, 0)
	results := []Result{full}
	if err != nil {
		return results, err
	}
	for _, f := range d.opts.Fractions {
		if err := sys.alive(); err != nil {
			return results, err
		}
		r, err := d.load(ctx, sys, WorkloadPairs, p, p, 1, send, f, f*full.MsgsPerSec)
		results = append(results, r)
		if err != nil {
			return results, err
		}
	}
	return results, nil
}

// group connects the G members of the configured group, lets each poster
// post once (sharing its sender key), then runs the posters at full speed:
// every post reaches the G-1 others.
func (d *driver) group(ctx context.Context, sys *system) (Result, error) {
	names := newUsers(d.opts).group
	label := fmt.Sprintf("%s group of %d", sys.name, len(names))
	peers, done, err := d.follow(ctx, sys, names, label)
	if err != nil {
		return Result{}, err
	}
	defer done()
	posters := make([]groupPeer, d.opts.Posters)
	for i := range posters {
		gp, ok := peers[i].(groupPeer)
		if !ok {
			return Result{}, fmt.Errorf("%s: %s cannot post to a group", label, sys.name)
		}
		posters[i] = gp
		if err := gp.post(ctx, groupName, time.Now()); err != nil {
			return Result{}, fmt.Errorf("%s: %s's first post: %w", label, names[i], err)
		}
	}
	post := func(ctx context.Context, i int, at time.Time) error { return posters[i].post(ctx, groupName, at) }
	return d.load(ctx, sys, WorkloadGroup, len(posters), len(names), len(names)-1, post, 0, 0)
}

// closeAll stops the receivers, waits for them, and closes the peers.
// follow connects names to sys, in parallel, and follows their inboxes
// until done is called, which also closes them.
func (d *driver) follow(ctx context.Context, sys *system, names []string, label string) (peers []peer, done func(), err error) {
	d.prog.update(label+": connecting", 0, 0, 0)
	peers = make([]peer, len(names))
	if err := parallel(ctx, len(names), func(ctx context.Context, i int) error {
		var err error
		peers[i], err = sys.dial(ctx, names[i], i)
		return err
	}); err != nil {
		closeAll(peers, func() {}, func() error { return nil })
		return nil, nil, fmt.Errorf("%s: %w", label, err)
	}
	rctx, stop := context.WithCancel(ctx)
	wait, err := d.receivers(rctx, peers)
	done = func() { closeAll(peers, stop, wait) }
	if err != nil {
		done()
		return nil, nil, fmt.Errorf("%s: %w", label, err)
	}
	return peers, done, nil
}

func closeAll(peers []peer, stop context.CancelFunc, wait func() error) {
	stop()
	_ = wait()
	for _, p := range peers {
		if p != nil {
			p.close()
		}
	}
}

// SendPath describes how the Spartan clients of a run send, for the report.
func (o *Options) SendPath() string {
	if o.Unary {
		return "unary SendMsg only (-unary)"
	}
	s := "clients/go's default: one SendMsgStream per client while more than one send is in flight"
	if o.UnaryToo && len(o.Stores) > 0 {
		s += "; the " + systemStorePrefix + o.Stores[0] + unarySuffix + " row sends with unary SendMsg only"
	}
	return s
}
