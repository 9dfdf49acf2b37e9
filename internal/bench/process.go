package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// startTimeout bounds how long a process may take to say it is ready.
const startTimeout = 30 * time.Second

// process is a child process the bench started: a spartan-server, a relay
// or a redis-server.
type process struct {
	name string
	cmd  *exec.Cmd
	// addr is where it listens, host:port; admin, when set, the base URL
	// of its admin address (pprof, expvar).
	addr   string
	admin  string
	exited chan struct{}
	err    error // why it exited, once exited is closed
	tail   *tail
}

// exitError is why the process exited, once it has.
func (p *process) exitError() error {
	if p.err == nil {
		return errors.New("exit status 0")
	}
	return p.err
}

// pid is the process's id, for /proc.
func (p *process) pid() int { return p.cmd.Process.Pid }

// stop asks the process to end (SIGINT), kills it after a few seconds, and
// waits for it.
func (p *process) stop() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// tail keeps the last lines a process wrote, to say why it failed.
type tail struct {
	mu    sync.Mutex
	lines []string
}

func (t *tail) add(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lines = append(t.lines, line)
	if len(t.lines) > 20 {
		t.lines = t.lines[1:]
	}
}

// String is the lines kept, oldest first.
func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.lines, "\n")
}

// startProcess runs cmd and waits until a line of its standard output
// matches ready, whose first submatch (if any) is the address it listens
// on. Its standard error, and the rest of its output, are kept in a tail.
func startProcess(ctx context.Context, name string, cmd *exec.Cmd, ready *regexp.Regexp) (*process, error) {
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s (%s): %w", name, cmd.Path, err)
	}
	p := &process{name: name, cmd: cmd, exited: make(chan struct{}), tail: &tail{}}
	found := make(chan string, 1)
	var pipes sync.WaitGroup
	pipes.Go(func() { keep(stderr, p.tail, nil, nil) })
	pipes.Go(func() { keep(stdout, p.tail, ready, found) })
	go func() {
		pipes.Wait()
		p.err = cmd.Wait()
		close(p.exited)
	}()
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case p.addr = <-found:
		return p, nil
	case <-p.exited:
		return nil, fmt.Errorf("%s exited before it was ready (%w):\n%s", name, p.exitError(), p.tail)
	case <-timer.C:
		p.stop()
		return nil, fmt.Errorf("%s was not ready within %s:\n%s", name, startTimeout, p.tail)
	case <-ctx.Done():
		p.stop()
		return nil, fmt.Errorf("start %s: %w", name, ctx.Err())
	}
}

// keep reads r line by line into t; the first line matching ready sends
// its first submatch (or "") on found.
func keep(r io.Reader, t *tail, ready *regexp.Regexp, found chan<- string) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		t.add(line)
		if ready == nil {
			continue
		}
		if m := ready.FindStringSubmatch(line); m != nil {
			addr := ""
			if len(m) > 1 {
				addr = m[1]
			}
			found <- addr
			ready = nil
		}
	}
	_, _ = io.Copy(io.Discard, r)
}

var serverStarted = regexp.MustCompile(`Spartan server started on port (\d+)\.`)

// startServer runs the spartan-server binary bin with the configuration
// cfg (written into dir) on a free loopback port.
func startServer(ctx context.Context, bin, dir, name string, cfg ServerConfig) (*process, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	if cfg.Store == "bolt" && cfg.BoltPath == "" {
		cfg.BoltPath = filepath.Join(dir, "spartan.db")
	}
	adminPort, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	cfg.AdminAddr = "127.0.0.1:" + strconv.Itoa(adminPort)
	text, err := cfg.YAML()
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	cmd := exec.CommandContext(ctx, bin, "-config", path, "-host", "127.0.0.1", "-port", "0")
	cmd.Dir = dir
	p, err := startProcess(ctx, name, cmd, serverStarted)
	if err != nil {
		return nil, err
	}
	p.addr = "127.0.0.1:" + p.addr
	p.admin = "http://" + cfg.AdminAddr
	return p, nil
}

var relayListening = regexp.MustCompile(`relay listening on (\S+)`)

// startRelay re-executes self (the spartan-bench binary) as the bare relay
// over transport.
func startRelay(ctx context.Context, self, transport string) (*process, error) {
	adminPort, err := freePort()
	if err != nil {
		return nil, err
	}
	admin := "127.0.0.1:" + strconv.Itoa(adminPort)
	cmd := exec.CommandContext(ctx, self, "-relay", transport, "-addr", "127.0.0.1:0", "-admin", admin)
	p, err := startProcess(ctx, "relay ("+transport+")", cmd, relayListening)
	if err != nil {
		return nil, err
	}
	p.admin = "http://" + admin
	return p, nil
}

var redisReady = regexp.MustCompile(`Ready to accept connections`)

// startRedis runs a redis-server on a free loopback port, in dir, keeping
// nothing on disk.
func startRedis(ctx context.Context, dir string) (*process, error) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		return nil, errors.New("cluster mode needs redis-server: install the Debian package redis-server (make redis)")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("start redis-server: %w", err)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, "redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "notice", "--logfile", "")
	p, err := startProcess(ctx, "redis-server", cmd, redisReady)
	if err != nil {
		return nil, err
	}
	p.addr = "127.0.0.1:" + strconv.Itoa(port)
	return p, nil
}

// freePort is a TCP port free on loopback a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	return port, nil
}
