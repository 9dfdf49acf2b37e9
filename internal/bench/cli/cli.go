// Package cli is spartan-bench's command line: flags, presets (-short,
// -long), and where the report goes. The command's main only calls Run.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/spartan-messenger/spartan/internal/bench"
)

// preset is what -short and -long set, unless a flag says otherwise.
type preset struct {
	window, warmup time.Duration
	runs           int
	fractions      string
	group, idle    int
}

// The presets: without -short or -long, -short, -long.
var (
	normal = preset{window: 5 * time.Second, warmup: time.Second, runs: 1, fractions: "0.25,0.5,0.75", group: 100, idle: 500}
	short  = preset{window: 3 * time.Second, warmup: time.Second, runs: 1, fractions: "0.25,0.5,0.75", group: 100, idle: 300}
	long   = preset{window: 10 * time.Second, warmup: 2 * time.Second, runs: 3, fractions: "0.1,0.25,0.5,0.75,0.9", group: 1000, idle: 1000}
)

// errUsage marks an error in the flags (exit status 2).
var errUsage = errors.New("usage")

// Run runs spartan-bench with args and returns its exit status: 0 when
// every workload ran, 1 when one failed (what was measured is still
// reported), 2 for bad flags.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	err := run(ctx, args, stdout, stderr)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		_, _ = fmt.Fprintf(stderr, "spartan-bench: %v\n", err)
		return 2
	default:
		_, _ = fmt.Fprintf(stderr, "spartan-bench: %v\n", err)
		return 1
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("spartan-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		serverBin  = fs.String("server-bin", defaultServerBin(), "the spartan-server binary to start")
		server     = fs.String("server", "", "drive a running spartan-server at host:port instead of starting one (its config needs the users of -print-config)")
		serverPID  = fs.Int("server-pid", 0, "with -server: its process id, to measure its CPU, system calls and memory")
		self       = fs.String("self", "", "the spartan-bench binary to run the relays with (default: this one)")
		pairs      = fs.Int("pairs", 16, "P: one-on-one sender/receiver pairs")
		inFlight   = fs.Int("inflight", 8, "W: sends each sender keeps in flight")
		group      = fs.Int("group", 0, "G: members of the group workload (default: the preset's, 100; -long 1000; 0: none)")
		posters    = fs.Int("posters", 4, "members of the group who post")
		idle       = fs.Int("idle", -1, "K: idle receivers (default: the preset's, 300 with -short; 0: none)")
		payload    = fs.Int("payload", 64, "bytes of every text before sealing")
		window     = fs.Duration("window", 0, "each measured window (0: the preset's)")
		warmup     = fs.Duration("warmup", -1, "the warm-up before each window (-1: the preset's)")
		runs       = fs.Int("runs", 0, "runs of everything; figures are medians (0: the preset's)")
		fractions  = fs.String("fractions", "", "paced loads as parts of full speed, comma-separated (default: the preset's)")
		stores     = fs.String("stores", "memory,bolt", "stores of the one-node servers; the first also runs the group and idle workloads")
		relays     = fs.Bool("relays", true, "run the baselines: the bare relay on connect-go and on grpc-go")
		cluster    = fs.Bool("cluster", true, "run one node on a redis-server, then three nodes sharing one")
		unary      = fs.Bool("unary", false, "Spartan clients send every message with a unary SendMsg (spartan.WithUnarySend), never on the send stream")
		unaryToo   = fs.Bool("unary-too", true, "also run the first store's server with unary-only clients (a spartan-memory-unary row)")
		shortRun   = fs.Bool("short", false, "the short run of make bench: 3 s windows, 1 run")
		longRun    = fs.Bool("long", false, "the long run: 10 s windows, 3 runs, a group of 1,000")
		jsonOut    = fs.Bool("json", false, "write the results as JSON to stdout instead of the Markdown table")
		mdPath     = fs.String("md", "", "also write the tables into this Markdown file, between its spartan-bench markers")
		svgPath    = fs.String("svg", "", "also write the latency plot (SVG) to this file")
		printCfg   = fs.Bool("print-config", false, "print the spartan-server configuration a run needs (for -server) and exit")
		relayMode  = fs.String("relay", "", "")
		relayAddr  = fs.String("addr", "127.0.0.1:0", "")
		relayAdmin = fs.String("admin", "", "")
		keepDir    = fs.Bool("keep", false, "keep the run's directory (configurations, logs, bolt files, keystores)")
		keys       = fs.String("keys", "", "keep the users' keystores in this directory, from run to run (for -server, which binds each user's first key)")
		setByFlags = map[string]bool{}
	)
	fs.Usage = func() {
		_, _ = fmt.Fprintf(fs.Output(), "usage: spartan-bench [flags]\n\nMeasures spartan-server against a bare relay of the same proto (docs/PERFORMANCE.md).\n\n")
		fs.VisitAll(func(f *flag.Flag) {
			if f.Usage == "" { // the relay's own, hidden flags
				return
			}
			_, _ = fmt.Fprintf(fs.Output(), "  -%s\t%s (default %q)\n", f.Name, f.Usage, f.DefValue)
		})
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	fs.Visit(func(f *flag.Flag) { setByFlags[f.Name] = true })
	if *relayMode != "" {
		return bench.RunRelay(ctx, *relayMode, *relayAddr, *relayAdmin, stdout)
	}
	if *server != "" && *keys == "" {
		_, _ = fmt.Fprintln(stderr, "spartan-bench: without -keys, the users' keys are new: a server that has seen these users before refuses them (restart it, or give -keys DIR)")
	}
	if *shortRun && *longRun {
		return fmt.Errorf("%w: -short and -long exclude each other", errUsage)
	}
	p := normal
	if *shortRun {
		p = short
	}
	if *longRun {
		p = long
	}
	o := bench.Options{
		ServerBin: *serverBin, Server: *server, ServerPID: *serverPID, Self: *self, Keys: *keys,
		Pairs: *pairs, InFlight: *inFlight, Group: p.group, Posters: *posters, Idle: p.idle, Payload: *payload,
		Warmup: p.warmup, Window: p.window, Runs: p.runs,
		Relays: *relays, Cluster: *cluster && *server == "",
		Unary: *unary, UnaryToo: *unaryToo && *server == "" && *stores != "",
		Progress: stderr,
	}
	if setByFlags["group"] {
		o.Group = *group
		if o.Group == 1 {
			o.Group = 0
		}
	}
	if setByFlags["idle"] && *idle >= 0 {
		o.Idle = *idle
	}
	if *window > 0 {
		o.Window = *window
	}
	if *warmup >= 0 && setByFlags["warmup"] {
		o.Warmup = *warmup
	}
	if *runs > 0 {
		o.Runs = *runs
	}
	fr := p.fractions
	if setByFlags["fractions"] {
		fr = *fractions
	}
	var err error
	if o.Fractions, err = parseFractions(fr); err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	if *stores != "" {
		o.Stores = strings.Split(*stores, ",")
	}
	if o.Group > 0 {
		o.Posters = min(o.Posters, o.Group)
	}
	if *printCfg {
		text, err := bench.ServerConfigFor(o, "memory").YAML()
		if err != nil {
			return err
		}
		_, err = io.WriteString(stdout, text)
		return err
	}
	if o.Self == "" {
		if o.Self, err = os.Executable(); err != nil {
			return fmt.Errorf("find the spartan-bench binary for the relays: %w", err)
		}
	}
	if err := o.Validate(); err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	if o.Server == "" && (len(o.Stores) > 0 || o.Cluster) {
		if _, err := os.Stat(o.ServerBin); err != nil {
			return fmt.Errorf("%w: the spartan-server binary: %w (build it: go build -o bin/ ./cmd/spartan-server, or give -server-bin)", errUsage, err)
		}
	}
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		o.TTY = true
	}
	if o.Dir, err = os.MkdirTemp("", "spartan-bench-"); err != nil {
		return fmt.Errorf("the run's directory: %w", err)
	}
	if *keepDir {
		_, _ = fmt.Fprintf(stderr, "spartan-bench: the run's files are in %s\n", o.Dir)
	} else {
		defer func() { _ = os.RemoveAll(o.Dir) }()
	}

	results, runErr := bench.Run(ctx, o)
	rep := bench.Report{Summary: summary(o), Results: results}
	if len(results) > 0 {
		if err := write(rep, stdout, *jsonOut, *mdPath, *svgPath); err != nil {
			return errors.Join(runErr, err)
		}
	}
	return runErr
}

// write puts the report where the flags say.
func write(rep bench.Report, stdout io.Writer, jsonOut bool, mdPath, svgPath string) error {
	if jsonOut {
		if err := rep.WriteJSON(stdout); err != nil {
			return err
		}
	} else if _, err := io.WriteString(stdout, rep.Markdown()); err != nil {
		return fmt.Errorf("write the table: %w", err)
	}
	if mdPath != "" {
		doc, err := os.ReadFile(mdPath)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("read %s: %w", mdPath, err)
		}
		out, err := bench.ReplaceSection(string(doc), rep.Markdown())
		if err != nil {
			return fmt.Errorf("%s: %w", mdPath, err)
		}
		if err := os.WriteFile(mdPath, []byte(out), 0o644); err != nil { //nolint:gosec // a document of the repository
			return fmt.Errorf("write %s: %w", mdPath, err)
		}
	}
	if svgPath != "" {
		f, err := os.Create(svgPath)
		if err != nil {
			return fmt.Errorf("write the plot: %w", err)
		}
		if err := bench.WritePlot(f, rep.Results); err != nil {
			_ = f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("write the plot: %w", err)
		}
	}
	return nil
}

// parseFractions reads "0.25,0.5".
func parseFractions(s string) ([]float64, error) {
	var out []float64
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		v, err := strconv.ParseFloat(f, 64)
		if err != nil {
			return nil, fmt.Errorf("fractions: %q: %w", f, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// defaultServerBin is spartan-server next to this binary, else
// ./bin/spartan-server.
func defaultServerBin() string {
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), "spartan-server")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return filepath.Join("bin", "spartan-server")
}

// summary describes the run for the report.
func summary(o bench.Options) bench.Summary {
	s := bench.Summary{
		When:      time.Now().UTC().Format("2006-01-02 15:04 UTC"),
		Machine:   fmt.Sprintf("%s, %d CPUs (%s/%s)", orUnknown(cpuModel()), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH),
		Pairs:     o.Pairs,
		InFlight:  o.InFlight,
		Group:     o.Group,
		Posters:   o.Posters,
		Idle:      o.Idle,
		Window:    o.Window.String(),
		Runs:      o.Runs,
		Payload:   o.Payload,
		SendPath:  o.SendPath(),
		Commit:    gitCommit(),
		Toolchain: runtime.Version(),
	}
	return s
}

// cpuModel is /proc/cpuinfo's first "model name".
func cpuModel() string {
	raw, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for line := range strings.Lines(string(raw)) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// gitCommit is the working tree's commit, when git can say.
func gitCommit() string {
	out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return ""
	}
	c := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
		c += "+changes"
	}
	return c
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown CPU"
	}
	return s
}
