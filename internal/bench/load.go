package bench

import (
	"context"
	"fmt"
	"math"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spartan-messenger/spartan/internal/procstat"
)

// drainTimeout bounds the wait, after a window, for the messages sent in it.
const drainTimeout = 2 * time.Second

// recorder counts what the receivers get, and records the latency of the
// messages sent within the window [from, to).
type recorder struct {
	delivered atomic.Int64
	from, to  atomic.Int64 // send times, nanoseconds since 1970
	inWindow  atomic.Int64 // received of those sent in the window
	want      atomic.Int64 // how many of those the drain waits for
	poke      chan struct{}
	lat       *Latency
}

func newRecorder() *recorder {
	r := &recorder{poke: make(chan struct{}, 1), lat: NewLatency()}
	r.from.Store(math.MaxInt64)
	r.to.Store(math.MaxInt64)
	return r
}

// inside says a message sent at at belongs to the window.
func (r *recorder) inside(at time.Time) bool {
	ns := at.UnixNano()
	return ns >= r.from.Load() && ns < r.to.Load()
}

// got counts a message received now that was sent at at.
func (r *recorder) got(at time.Time) {
	r.delivered.Add(1)
	if !r.inside(at) {
		return
	}
	r.lat.Record(time.Since(at))
	if n, want := r.inWindow.Add(1), r.want.Load(); want > 0 && n >= want {
		select {
		case r.poke <- struct{}{}:
		default:
		}
	}
}

// drain waits until want messages sent in the window have arrived, for at
// most drainTimeout; it says whether they all did.
func (r *recorder) drain(ctx context.Context, want int64) bool {
	r.want.Store(max(want, 1))
	timer := time.NewTimer(drainTimeout)
	defer timer.Stop()
	for r.inWindow.Load() < want {
		select {
		case <-r.poke:
		case <-timer.C:
			return false
		case <-ctx.Done():
			return false
		}
	}
	return true
}

// window is what one measured window saw of the system.
type window struct {
	start, end    time.Time
	before, after procstat.Sample
	delivered     int64
	measured      bool // the system's processes were sampled
	// driver is this process's CPU time in the window, machine every
	// CPU's busy time (seconds), both 0 when /proc cannot tell.
	driver, machine float64
}

// driver runs the workloads against one system at a time.
type driver struct {
	opts Options
	proc procstat.Reader
	prog *progress
	rec  atomic.Pointer[recorder]
}

// got is every receiver's callback: it goes to the current recorder.
func (d *driver) got(at time.Time) {
	if r := d.rec.Load(); r != nil {
		r.got(at)
	}
}

// sample reads the counters of the system's processes.
func (d *driver) sample(sys *system) (procstat.Sample, bool, error) {
	pids := sys.pids()
	if len(pids) == 0 {
		return procstat.Sample{}, false, nil
	}
	s, err := d.proc.ReadAll(pids)
	if err != nil {
		return s, false, fmt.Errorf("%s: %w", sys.name, err)
	}
	return s, true, nil
}

// wait lets d pass while showing label, or returns ctx's error.
func (d *driver) wait(ctx context.Context, dur time.Duration, label string, rec *recorder) error {
	start := time.Now()
	deadline := time.NewTimer(dur)
	defer deadline.Stop()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		var n int64
		if rec != nil {
			n = rec.delivered.Load()
		}
		d.prog.update(label, time.Since(start), dur, n)
		select {
		case <-deadline.C:
			return nil
		case <-tick.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// measure runs one window of opts.Window over rec and the system.
func (d *driver) measure(ctx context.Context, sys *system, rec *recorder, label string) (window, error) {
	var w window
	var err error
	if w.before, w.measured, err = d.sample(sys); err != nil {
		return w, err
	}
	self0, selfErr := d.proc.Read(os.Getpid())
	machine0, machineErr := d.proc.MachineBusy()
	w.start = time.Now()
	rec.from.Store(w.start.UnixNano())
	d0 := rec.delivered.Load()
	if err := d.wait(ctx, d.opts.Window, label, rec); err != nil {
		return w, err
	}
	w.end = time.Now()
	rec.to.Store(w.end.UnixNano())
	w.delivered = rec.delivered.Load() - d0
	if w.after, _, err = d.sample(sys); err != nil {
		return w, err
	}
	self1, err1 := d.proc.Read(os.Getpid())
	machine1, err2 := d.proc.MachineBusy()
	if selfErr == nil && err1 == nil && machineErr == nil && err2 == nil {
		w.driver, w.machine = self1.CPU-self0.CPU, machine1-machine0
	}
	return w, nil
}

// result turns a window into a Result.
func (d *driver) result(sys *system, workload string, fraction, offered float64, streams int, w window, rec *recorder) Result {
	secs := w.end.Sub(w.start).Seconds()
	r := Result{
		System: sys.name, Workload: workload, Fraction: fraction, Offered: offered, Streams: streams,
		Seconds: secs, Delivered: w.delivered, Latency: rec.lat.Summary(),
	}
	if secs > 0 {
		r.MsgsPerSec = float64(w.delivered) / secs
	}
	r.DriverCPU = w.driver
	if w.measured {
		diff := w.after.Sub(w.before)
		r.ServerCPU = diff.CPU
		if w.machine > 0 {
			r.OtherCPU = max(w.machine-diff.CPU-w.driver, 0)
		}
		if w.delivered > 0 {
			n := float64(w.delivered)
			r.CPUPer10k = diff.CPU / n * 1e4
			r.ReadsPerMsg = float64(diff.SyscR) / n
			r.WritesPerMsg = float64(diff.SyscW) / n
		}
	}
	return r
}

// sendFunc sends one message of sender i stamped at.
type sendFunc func(ctx context.Context, i int, at time.Time) error

// load drives senders (opts.InFlight sends in flight each) at full speed
// (rate 0) or paced at rate messages a second over them all, for a
// warm-up and a window. Each message sent reaches fanout receivers.
func (d *driver) load(ctx context.Context, sys *system, workload string, senders, streams, fanout int, send sendFunc, fraction, rate float64) (Result, error) {
	rec := newRecorder()
	d.rec.Store(rec)
	loadCtx, stop := context.WithCancel(ctx)
	var (
		wg           sync.WaitGroup
		sent, failed atomic.Int64
		lastErr      atomic.Value
		tokens       chan time.Time
	)
	defer func() { stop(); wg.Wait() }()
	if rate > 0 {
		tokens = make(chan time.Time)
		wg.Go(func() { pace(loadCtx, rate, tokens) })
	}
	for i := range senders {
		for range max(d.opts.InFlight, 1) {
			wg.Go(func() {
				for {
					at := time.Now()
					if tokens != nil {
						select {
						case at = <-tokens: // the scheduled time: a late send counts its wait
						case <-loadCtx.Done():
							return
						}
					}
					err := send(loadCtx, i, at)
					if loadCtx.Err() != nil {
						return
					}
					if err != nil {
						failed.Add(1)
						lastErr.Store(err.Error())
						select { // do not spin on an error that stays
						case <-time.After(10 * time.Millisecond):
						case <-loadCtx.Done():
							return
						}
						continue
					}
					if rec.inside(at) {
						sent.Add(1)
					}
				}
			})
		}
	}
	label := fmt.Sprintf("%s %s", sys.name, workload)
	if rate > 0 {
		label += fmt.Sprintf(" at %.0f msgs/s", rate)
	} else {
		label += " at full speed"
	}
	if err := d.wait(ctx, d.opts.Warmup, label+", warm-up", rec); err != nil {
		return Result{}, err
	}
	w, err := d.measure(ctx, sys, rec, label)
	if err != nil {
		return Result{}, err
	}
	stop()
	wg.Wait()
	rec.drain(ctx, sent.Load()*int64(fanout))
	res := d.result(sys, workload, fraction, rate, streams, w, rec)
	res.Failed = failed.Load()
	if e, ok := lastErr.Load().(string); ok {
		res.LastError = e
	}
	d.prog.done(fmt.Sprintf("%s: %s msgs/s, p50 %.2f ms, p99 %.2f ms, %.2f CPU s / 10k", label, num(res.MsgsPerSec, 0), res.Latency.P50, res.Latency.P99, res.CPUPer10k))
	if res.Delivered == 0 {
		return res, fmt.Errorf("%s: no message was delivered in the window (%d sends failed, the last: %s)", label, res.Failed, res.LastError)
	}
	return res, nil
}

// pace sends on tokens the times at which rate messages a second are due,
// from now until ctx ends; a token taken late keeps its due time.
func pace(ctx context.Context, rate float64, tokens chan<- time.Time) {
	start := time.Now()
	interval := time.Duration(float64(time.Second) / rate)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	var issued int64
	for {
		due := int64(time.Since(start).Seconds()*rate) + 1
		for ; issued < due; issued++ {
			select {
			case tokens <- start.Add(time.Duration(issued) * interval):
			case <-ctx.Done():
				return
			}
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
}

// receivers follow the inboxes of peers until ctx ends, each message going
// to d.got. It returns once every stream is open, or with the first error.
// The returned wait waits for them to end after ctx.
func (d *driver) receivers(ctx context.Context, peers []peer) (wait func() error, err error) {
	var (
		wg       sync.WaitGroup
		ready    sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	failed := make(chan struct{})
	var failOnce sync.Once
	for _, p := range peers {
		ready.Add(1)
		wg.Go(func() {
			var once sync.Once
			err := p.receive(ctx, func() { once.Do(ready.Done) }, d.got)
			if err != nil && ctx.Err() == nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
				failOnce.Do(func() { close(failed) })
			}
			once.Do(ready.Done)
		})
	}
	allReady := make(chan struct{})
	go func() { ready.Wait(); close(allReady) }()
	wait = func() error {
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		return firstErr
	}
	select {
	case <-allReady:
	case <-failed:
	case <-ctx.Done():
		return wait, ctx.Err()
	}
	mu.Lock()
	defer mu.Unlock()
	if firstErr != nil {
		return wait, firstErr
	}
	return wait, nil
}

// parallel runs fn(i) for i in [0, n), at most 16 at once, and returns the
// first error.
func parallel(ctx context.Context, n int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, 16)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for i := range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := fn(ctx, i); err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
					cancel()
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return firstErr
}
