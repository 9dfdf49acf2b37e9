package bolt_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"

	spartanv1 "github.com/spartan-messenger/spartan/gen/spartan/v1"
	"github.com/spartan-messenger/spartan/gen/spartan/v1/spartanv1connect"
)

// serverBinary returns $TEST_SPARTAN_BIN/spartan-server, or builds the server.
func serverBinary(tb testing.TB) string {
	tb.Helper()
	if dir := os.Getenv("TEST_SPARTAN_BIN"); dir != "" {
		return filepath.Join(dir, "spartan-server")
	}
	bin := filepath.Join(tb.TempDir(), "spartan-server")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/spartan-messenger/spartan/cmd/spartan-server").CombinedOutput()
	if err != nil {
		tb.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

var startedRE = regexp.MustCompile(`Spartan server started on port (\d+)\.`)

// proc is a running server process.
type proc struct {
	cmd    *exec.Cmd
	port   string
	stderr string
}

// start runs the server with config and waits for its start-up line.
func start(tb testing.TB, bin, config string) (*proc, error) {
	tb.Helper()
	cmd := exec.Command(bin, "-config", config)
	stderr := filepath.Join(tb.TempDir(), "stderr")
	f, err := os.Create(stderr)
	if err != nil {
		tb.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	cmd.Stderr = f
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	p := &proc{cmd: cmd, stderr: stderr}
	tb.Cleanup(func() { p.kill() })
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := startedRE.FindStringSubmatch(sc.Text()); m != nil {
				lines <- m[1]
			}
		}
		close(lines)
	}()
	select {
	case port, ok := <-lines:
		if ok {
			p.port = port
			return p, nil
		}
	case <-time.After(30 * time.Second):
	}
	waitErr := cmd.Wait()
	logs, _ := os.ReadFile(stderr)
	return nil, fmt.Errorf("server did not start (%w): %s", waitErr, logs)
}

// kill ends the server with SIGKILL: no shutdown, no flush.
func (p *proc) kill() {
	if p.cmd.ProcessState == nil {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		_ = p.cmd.Wait()
	}
}

func (p *proc) client() spartanv1connect.ChatServiceClient {
	protocols := new(http.Protocols)
	protocols.SetUnencryptedHTTP2(true)
	hc := &http.Client{Transport: &http.Transport{Protocols: protocols}}
	return spartanv1connect.NewChatServiceClient(hc, "http://127.0.0.1:"+p.port, connect.WithGRPC())
}

func writeConfig(tb testing.TB, dbPath string) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "config.yaml")
	cfg := fmt.Sprintf("host: 127.0.0.1\nport: 0\nusers: [alice, bob, carol]\nauth:\n  required: false\nstore:\n  kind: bolt\n  path: %s\ncache:\n  messages_per_log: 8\nrate:\n  calls: 1000000\n  window_seconds: 1\n", dbPath)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

// TestRestartSurvival exchanges messages with the real server, kills it
// with SIGKILL, starts it again on the same file and checks that every
// acknowledged message is there, in order, once.
func TestRestartSurvival(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server")
	}
	t.Parallel()
	bin := serverBinary(t)
	db := filepath.Join(t.TempDir(), "data", "spartan.db")
	config := writeConfig(t, db)
	ctx := t.Context()

	p, err := start(t, bin, config)
	if err != nil {
		t.Fatal(err)
	}
	c := p.client()
	if _, err := c.RequestChat(ctx, connect.NewRequest(&spartanv1.RequestChatRequest{User: "alice", Peer: "bob"})); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AnswerChat(ctx, connect.NewRequest(&spartanv1.AnswerChatRequest{User: "bob", Peer: "alice", Accept: true})); err != nil {
		t.Fatal(err)
	}
	// Concurrent senders, so that commits are batched, then one more alone.
	const n = 40
	acked := make(chan string, 2*n)
	errs := make(chan error, 2*n)
	for _, pair := range [][2]string{{"alice", "bob"}, {"bob", "alice"}} {
		go func() {
			for i := range n {
				text := fmt.Sprintf("%s %d", pair[0], i)
				_, err := c.SendMsg(ctx, connect.NewRequest(&spartanv1.SendMsgRequest{User: pair[0], Receiver: pair[1], Payload: []byte(text)}))
				if err != nil {
					errs <- err
					return
				}
				acked <- text
			}
			errs <- nil
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	close(acked)
	before := history(t, c, "alice", "bob")
	if len(before) != 2*n {
		t.Fatalf("before the kill: %d messages in the history, want %d", len(before), 2*n)
	}
	p.kill()

	p, err = start(t, bin, config)
	if err != nil {
		t.Fatal(err)
	}
	c = p.client()
	after := history(t, c, "bob", "alice")
	if strings.Join(after, "|") != strings.Join(before, "|") {
		t.Errorf("history changed across the restart:\nbefore %q\nafter  %q", before, after)
	}
	seen := map[string]bool{}
	for _, m := range after {
		if seen[m] {
			t.Errorf("duplicate %q", m)
		}
		seen[m] = true
	}
	for text := range acked {
		if !seen[text] {
			t.Errorf("acknowledged message %q is lost", text)
		}
	}
	// Per sender, the order is the order of acknowledgement.
	last := map[string]int{}
	for _, m := range after {
		var who string
		var i int
		if _, err := fmt.Sscanf(m, "%s %d", &who, &i); err != nil {
			t.Fatal(err)
		}
		if prev, ok := last[who]; ok && i != prev+1 {
			t.Errorf("%s's messages out of order: %d after %d", who, i, prev)
		}
		last[who] = i
	}
	// Bob's inbox replays alice's chat request and everything she sent, once, in order.
	inbox := replay(t, c, "bob", n+1)
	var fromAlice []string
	for _, m := range inbox {
		if m.GetType() == spartanv1.MessageType_MESSAGE_TYPE_TEXT {
			fromAlice = append(fromAlice, string(m.GetPayload()))
		}
	}
	for i, m := range fromAlice {
		if want := fmt.Sprintf("alice %d", i); m != want {
			t.Fatalf("bob's inbox message %d = %q, want %q", i, m, want)
		}
	}
	for i, m := range inbox {
		if m.GetSeq() != uint64(i+1) {
			t.Fatalf("bob's inbox: message %d has seq %d", i, m.GetSeq())
		}
	}
}

// history pages back through the whole conversation, oldest first.
func history(tb testing.TB, c spartanv1connect.ChatServiceClient, user, peer string) []string {
	tb.Helper()
	var out []string
	before := uint64(0)
	for {
		resp, err := c.History(tb.Context(), connect.NewRequest(&spartanv1.HistoryRequest{User: user, Peer: peer, BeforeSeq: before, PageSize: 7}))
		if err != nil {
			tb.Fatal(err)
		}
		var page []string
		for _, m := range resp.Msg.GetMessages() {
			page = append(page, string(m.GetPayload()))
		}
		out = append(page, out...)
		if before = resp.Msg.GetNextBeforeSeq(); before == 0 {
			return out
		}
	}
}

// replay reads user's inbox from the start until it has want messages.
func replay(tb testing.TB, c spartanv1connect.ChatServiceClient, user string, want int) []*spartanv1.Message {
	tb.Helper()
	ctx, cancel := context.WithTimeout(tb.Context(), 10*time.Second)
	defer cancel()
	// seq 0 would resume after the last acknowledged message; nothing was
	// acknowledged, so it is the start.
	stream, err := c.ReceiveMsg(ctx, connect.NewRequest(&spartanv1.Message{Receiver: user}))
	if err != nil {
		tb.Fatal(err)
	}
	defer func() { _ = stream.Close() }()
	var out []*spartanv1.Message
	for len(out) < want && stream.Receive() {
		if stream.Msg().GetSeq() != 0 { // not a live-only event (presence)
			out = append(out, stream.Msg())
		}
	}
	if err := stream.Err(); err != nil && !errors.Is(err, context.Canceled) {
		tb.Fatalf("replay of %s: %v after %d messages", user, err, len(out))
	}
	if len(out) != want {
		tb.Fatalf("replay of %s: %d messages, want %d", user, len(out), want)
	}
	return out
}

// TestServerRefusesCorruptStore: the real server does not start on a
// damaged file, says why, and leaves the file as it was.
func TestServerRefusesCorruptStore(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server")
	}
	t.Parallel()
	bin := serverBinary(t)
	db := filepath.Join(t.TempDir(), "spartan.db")
	garbage := []byte(strings.Repeat("this is not a database; ", 1000))
	if err := os.WriteFile(db, garbage, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), bin, "-config", writeConfig(t, db))
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() == 0 {
		t.Fatalf("server exited with %v, want a failure; output:\n%s", err, out)
	}
	if !strings.Contains(string(out), db) || !strings.Contains(string(out), "damaged") || strings.Contains(string(out), "started on port") {
		t.Errorf("output does not name the file and the problem:\n%s", out)
	}
	if now, _ := os.ReadFile(db); string(now) != string(garbage) {
		t.Error("the data file changed")
	}
}
