package main_test

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spartan-messenger/spartan/internal/clitest"
)

const wait = 15 * time.Second

// binaries returns the directory of the built spartan-server and spartan:
// $TEST_SPARTAN_BIN (as `make test` sets it) or a fresh build.
func binaries(tb testing.TB) string {
	tb.Helper()
	if dir := os.Getenv("TEST_SPARTAN_BIN"); dir != "" {
		return dir
	}
	dir := tb.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", dir+string(filepath.Separator), "../spartan-server", ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("go build: %v\n%s", err, out)
	}
	return dir
}

// startServer runs the built server with a config of the brief's users on a
// free loopback port and returns its address; it is stopped with SIGINT at
// the end of the test, which must make it exit 0.
func startServer(tb testing.TB, bin string) string {
	tb.Helper()
	return runServer(tb, bin, tb.TempDir(), "", io.Discard)
}

// runServer runs the built server in dir (where its bolt store lives, under
// data/), with the brief's users and the config lines extra, its log to log.
func runServer(tb testing.TB, bin, dir, extra string, log io.Writer) string {
	tb.Helper()
	cfgPath := filepath.Join(tb.TempDir(), "config.yaml")
	cfg := "users: [alice, bob, charlie, eve, foo, bar, baz, qux]\n" + extra
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(bin, "spartan-server"), "-config", cfgPath, "-host", "127.0.0.1", "-port", "0")
	cmd.Dir = dir
	cmd.Stderr = log
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	exited := make(chan error, 1)
	tb.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		select {
		case err := <-exited:
			if err != nil {
				tb.Errorf("server exit on SIGINT: %v", err)
			}
		case <-time.After(wait):
			_ = cmd.Process.Kill()
			tb.Errorf("server did not stop on SIGINT")
		}
	})
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
		exited <- cmd.Wait()
	}()
	select {
	case line := <-lines:
		m := regexp.MustCompile(`^Spartan server started on port (\d+)\.$`).FindStringSubmatch(line)
		if m == nil {
			tb.Fatalf("first line of the server: %q", line)
		}
		return "127.0.0.1:" + m[1]
	case <-time.After(wait):
		tb.Fatal("the server did not start")
	}
	return ""
}

type cliProc struct {
	screen *clitest.Screen
	stdin  io.WriteCloser
	cmd    *exec.Cmd
	done   chan struct{}
}

// startCLI runs the built CLI with args, its keys in a config directory of
// the test's (see startCLIIn).
func startCLI(tb testing.TB, bin string, args ...string) *cliProc {
	tb.Helper()
	return startCLIIn(tb, bin, tb.TempDir(), args...)
}

// startCLIIn runs the built CLI with args and config as its config
// directory ($XDG_CONFIG_HOME), where it keeps its keys by default.
func startCLIIn(tb testing.TB, bin, config string, args ...string) *cliProc {
	tb.Helper()
	p := &cliProc{screen: clitest.NewScreen(), done: make(chan struct{})}
	p.cmd = exec.Command(filepath.Join(bin, "spartan"), args...)
	p.cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+config)
	p.cmd.Stdout, p.cmd.Stderr = p.screen, p.screen
	var err error
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		tb.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	tb.Cleanup(func() {
		_ = p.stdin.Close()
		select {
		case <-p.done:
		case <-time.After(wait):
			_ = p.cmd.Process.Kill()
			tb.Errorf("spartan %v did not exit", args)
		}
	})
	return p
}

func (p *cliProc) typeLine(tb testing.TB, line string) {
	tb.Helper()
	if _, err := io.WriteString(p.stdin, line+"\n"); err != nil {
		tb.Fatalf("type %q: %v", line, err)
	}
}

func (p *cliProc) wantExit(tb testing.TB, code int) {
	tb.Helper()
	select {
	case <-p.done:
		if got := p.cmd.ProcessState.ExitCode(); got != code {
			tb.Fatalf("exit status %d, want %d; output:\n%s", got, code, p.screen)
		}
	case <-time.After(wait):
		tb.Fatalf("did not exit; output:\n%s", p.screen)
	}
}

// TestBriefTranscriptWithBinaries plays the brief's two terminals with the
// built server and CLI, through pipes, and checks its lines in order.
func TestBriefTranscriptWithBinaries(t *testing.T) {
	t.Parallel()
	bin := binaries(t)
	addr := startServer(t, bin)
	port := addr[strings.LastIndex(addr, ":")+1:]

	alice := startCLI(t, bin, "alice", "-server", addr)
	alice.screen.Expect(t, wait,
		"[Spartan] Connected to Spartan Server at port "+port+".\n",
		"[Spartan] User list: bob,charlie,eve,foo,bar,baz,qux\n",
		"[Spartan] Enter a user whom you want to chat with: ")
	alice.typeLine(t, "bob")
	alice.screen.Expect(t, wait, "bob\n[Spartan] You are now ready to chat with bob.\n[Spartan] bob has not set up encryption yet; your messages will be sent when bob connects.\n[alice] > ")
	alice.typeLine(t, "Hey Bob!")
	alice.screen.Expect(t, wait, "Hey Bob!\n[alice] > ")

	bob := startCLI(t, bin, "bob", "-server", addr)
	bob.screen.Expect(t, wait,
		"[Spartan] Connected to Spartan Server at port "+port+".\n",
		"[Spartan] User list: alice,charlie,eve,foo,bar,baz,qux\n",
		"[Spartan] alice is requesting to chat with you. Enter 'yes' to accept or different user: ")
	bob.typeLine(t, "yes")
	bob.screen.Expect(t, wait,
		"yes\n[Spartan] You are now ready to chat with alice.\n",
		"[alice] Hey Bob!\n",
		"[bob] > ")
	bob.typeLine(t, "Hi Alice!")
	alice.screen.Expect(t, wait,
		"[Spartan] bob accepted your chat request.\n",
		"[bob] Hi Alice!\n[alice] > ")
	// bob's stream (presence) and his answer race: either line may come first.
	if !strings.Contains(alice.screen.String(), "[Spartan] bob is online.\n") {
		t.Errorf("alice was not told that bob is online:\n%s", alice.screen)
	}

	alice.typeLine(t, "/quit")
	alice.wantExit(t, 0)
	_ = bob.stdin.Close() // Ctrl-D
	bob.wantExit(t, 0)
}

// TestNoServer: a clear sentence, status 1, no stack trace.
func TestNoServer(t *testing.T) {
	t.Parallel()
	bin := binaries(t)
	p := startCLI(t, bin, "alice", "-server", "127.0.0.1:1")
	p.screen.Expect(t, wait, "[Spartan] Cannot connect to Spartan Server at 127.0.0.1:1:")
	p.wantExit(t, 1)
	if strings.Contains(p.screen.String(), "goroutine") || strings.Contains(p.screen.String(), "panic") {
		t.Errorf("output has a stack trace:\n%s", p.screen)
	}
}
