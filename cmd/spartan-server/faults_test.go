package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	spartan "github.com/spartan-messenger/spartan/clients/go"
	spartanv1 "github.com/spartan-messenger/spartan/gen/spartan/v1"
	"github.com/spartan-messenger/spartan/internal/redistest"
)

// These are the fault tests of docs/RELIABILITY.md: each reports
// acknowledged / delivered / lost / shown twice, and fails unless lost and
// shown twice are 0. "Acknowledged" is a send the server answered; the
// clients retry a send that failed with the same client_msg_id, as both
// terminal clients do.

// process is a spartan-server that can be killed and started again on the
// same port and data directory.
type process struct {
	tb      testing.TB
	cfgPath string
	port    string
	cmd     *exec.Cmd
}

// startProcess writes cfg (after the users and the settings every fault
// test needs) and starts the server on a free port.
func startProcess(tb testing.TB, users []string, cfg string) *process {
	tb.Helper()
	dir := tb.TempDir()
	full := "users: [" + strings.Join(users, ", ") + "]\nauth:\n  required: false\nlimits:\n  conns_per_address: 0\n  streams_per_user: 0\n" +
		unlimited + strings.ReplaceAll(cfg, "{dir}", dir)
	p := &process{tb: tb, cfgPath: filepath.Join(dir, "config.yaml"), port: "0"}
	if err := os.WriteFile(p.cfgPath, []byte(full), 0o600); err != nil {
		tb.Fatal(err)
	}
	p.start()
	tb.Cleanup(func() {
		if p.cmd != nil {
			_ = p.cmd.Process.Signal(os.Interrupt)
			_ = p.cmd.Wait()
		}
	})
	return p
}

func (p *process) addr() string { return "127.0.0.1:" + p.port }

// start runs the server (again) and waits for its start-up line.
func (p *process) start() {
	p.tb.Helper()
	p.cmd = exec.Command(filepath.Join(serverBin(p.tb), "spartan-server"), "-config", p.cfgPath, "-host", "127.0.0.1", "-port", p.port)
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		p.tb.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		p.tb.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		p.tb.Fatalf("no start-up line: %v", err)
	}
	m := regexp.MustCompile(`port (\d+)\.`).FindStringSubmatch(line)
	if m == nil {
		p.tb.Fatalf("start-up line %q", line)
	}
	p.port = m[1]
}

// kill stops the server with SIGKILL: a crash.
func (p *process) kill() {
	p.tb.Helper()
	if err := syscall.Kill(p.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		p.tb.Fatal(err)
	}
	_ = p.cmd.Wait()
	p.cmd = nil
}

// faultTally counts what senders had acknowledged and what receivers showed.
type faultTally struct {
	mu        sync.Mutex
	acked     map[string]bool
	delivered map[string]int
	changed   chan struct{} // a value after each change, for waits
}

func newFaultTally() *faultTally {
	return &faultTally{acked: map[string]bool{}, delivered: map[string]int{}, changed: make(chan struct{}, 1)}
}

func (t *faultTally) ack(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.acked[key] = true
	t.poke()
}

func (t *faultTally) show(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.delivered[key]++
	t.poke()
}

func (t *faultTally) poke() {
	select {
	case t.changed <- struct{}{}:
	default:
	}
}

// waitFor waits, on the faultTally's changes, until done says so or within
// passes.
func (t *faultTally) waitFor(done func(acked, delivered int) bool, within time.Duration) {
	deadline := time.After(within)
	for {
		acked, delivered, _, _ := t.counts()
		if done(acked, delivered) {
			return
		}
		select {
		case <-t.changed:
		case <-deadline:
			return
		}
	}
}

// counts returns acknowledged, delivered, lost and shown twice.
func (t *faultTally) counts() (acked, delivered, lost, twice int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k := range t.acked {
		if t.delivered[k] == 0 {
			lost++
		}
	}
	for _, n := range t.delivered {
		if n > 1 {
			twice++
		}
	}
	return len(t.acked), len(t.delivered), lost, twice
}

// report logs the counts under name and fails on a loss or a duplicate.
func (t *faultTally) report(tb testing.TB, name string) {
	tb.Helper()
	acked, delivered, lost, twice := t.counts()
	tb.Logf("%s: acknowledged %d, delivered %d, lost %d, shown twice %d", name, acked, delivered, lost, twice)
	if lost != 0 || twice != 0 {
		tb.Fatalf("%s: lost %d, shown twice %d; want 0 and 0", name, lost, twice)
	}
}

// numbered is n texts of sender, "alice 000" on: each names its message.
func numbered(sender string, n int) []string {
	texts := make([]string, n)
	for i := range texts {
		texts[i] = fmt.Sprintf("%s %03d", sender, i)
	}
	return texts
}

// sendAll sends each text to receiver (a user, or a group when group is
// true), retrying a failed send with its id until it is acknowledged.
func sendAll(ctx context.Context, c *spartan.Client, receiver string, group bool, texts []string, t *faultTally) {
	for _, text := range texts {
		id := spartan.NewMessageID()
		req := &spartanv1.SendMsgRequest{Receiver: receiver, Payload: []byte(text), ClientMsgId: id}
		if group {
			req = &spartanv1.SendMsgRequest{Group: receiver, Payload: []byte(text), ClientMsgId: id}
		}
		for ctx.Err() == nil {
			if _, err := c.Send(ctx, req); err == nil {
				t.ack(text)
				break
			}
			select { // a pause before the retry, as the clients' outbox makes
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
}

// follow shows every text message of user's subscription in t (keyed by
// prefix+text) and, with ack, acknowledges it, until ctx ends. (Several
// clients of one user must not acknowledge: a client that starts afresh
// resumes after what another acknowledged.)
func follow(ctx context.Context, c *spartan.Client, prefix string, t *faultTally, ack bool) {
	sub := c.Subscribe(ctx, spartan.SubscribeOptions{GiveUp: 2 * time.Minute, MaxBackoff: 200 * time.Millisecond})
	for u := range sub.C {
		if m := u.Message; m != nil && m.GetType() == spartanv1.MessageType_MESSAGE_TYPE_TEXT {
			t.show(prefix + string(m.GetPayload()))
			if ack {
				sub.Ack(m)
			}
		}
	}
}

// waitDelivered waits until want messages were shown, or within passes.
func waitDelivered(t *faultTally, want int, within time.Duration) {
	t.waitFor(func(_, delivered int) bool { return delivered >= want }, within)
}

// TestKilledThreeTimesUnderLoad: two senders send 300 messages each to a
// receiver on a bolt server that is killed (SIGKILL) three times along the
// way and started again on its file: every acknowledged message is shown
// once.
func TestKilledThreeTimesUnderLoad(t *testing.T) {
	t.Parallel()
	p := startProcess(t, []string{"alice", "bob", "eve"}, "store:\n  kind: bolt\n  path: {dir}/spartan.db\n")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	for _, s := range []string{"alice", "bob"} {
		if _, err := spartan.New(p.addr(), s).RequestChat(ctx, "eve"); err != nil {
			t.Fatal(err)
		}
		if _, err := spartan.New(p.addr(), "eve").AnswerChat(ctx, s, true); err != nil {
			t.Fatal(err)
		}
	}
	const each = 300
	tl := newFaultTally()
	go follow(ctx, spartan.New(p.addr(), "eve"), "", tl, true)
	var wg sync.WaitGroup
	for _, s := range []string{"alice", "bob"} {
		wg.Go(func() { sendAll(ctx, spartan.New(p.addr(), s), "eve", false, numbered(s, each), tl) })
	}
	for kill := 1; kill <= 3; kill++ {
		tl.waitFor(func(acked, _ int) bool { return acked >= kill*2*each/4 }, time.Minute)
		p.kill()
		p.start()
	}
	wg.Wait()
	waitDelivered(tl, 2*each, time.Minute)
	tl.report(t, "bolt server killed three times under load")
}

// TestTwoThousandStreamsReconnect: 2,000 clients (20 each of 100 users)
// follow their inboxes on one server; posts to a group of all the users go
// before and after the server is killed, which drops the 2,000 streams at
// once; every client shows every post once. (With 2,000 distinct users the
// presence events grow with the square of the users: docs/RELIABILITY.md.)
func TestTwoThousandStreamsReconnect(t *testing.T) {
	// Not parallel: its 2,000 streams would take the CPU from the timing of
	// the rate tests beside it; alone, before them, it takes a few seconds.
	const users, perUser, posts = 101, 20, 10
	names := make([]string, users)
	for i := range names {
		names[i] = fmt.Sprintf("u%03d", i)
	}
	p := startProcess(t, names, "groups:\n  all: ["+strings.Join(names, ", ")+"]\nstore:\n  kind: bolt\n  path: {dir}/spartan.db\n")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	tl := newFaultTally()
	var clients []string
	for _, u := range names[1:] {
		for k := range perUser {
			client := fmt.Sprintf("%s/%02d", u, k)
			clients = append(clients, client)
			go follow(ctx, spartan.New(p.addr(), u), client+":", tl, false)
		}
	}
	sender := spartan.New(p.addr(), names[0])
	texts := func(from, n int) []string {
		var out []string
		for i := from; i < from+n; i++ {
			out = append(out, fmt.Sprintf("post %02d", i))
		}
		return out
	}
	sent := newFaultTally()
	sendAll(ctx, sender, "all", true, texts(0, posts/2), sent)
	waitDelivered(tl, len(clients)*posts/2, 2*time.Minute) // every stream is up and has them
	p.kill()
	p.start()
	sendAll(ctx, sender, "all", true, texts(posts/2, posts/2), sent)
	for post := range sent.acked {
		for _, c := range clients {
			tl.ack(c + ":" + post)
		}
	}
	waitDelivered(tl, len(clients)*posts, 2*time.Minute)
	tl.report(t, fmt.Sprintf("%d streams dropped at once by a killed server and reconnected (%d posts to a group)", len(clients), posts))
}

// TestNodeKilledAndRedisRestarted: a cluster of three nodes on a durable
// Redis; senders on two nodes, the receiver on the third with the first as
// its next; the receiver's node is killed, then Redis restarts, while the
// messages flow: every acknowledged one is shown once.
func TestNodeKilledAndRedisRestarted(t *testing.T) {
	t.Parallel()
	redis := redistest.StartDurable(t)
	cfg := "store:\n  kind: redis\nredis:\n  url: " + redis.URL + "\n"
	users := []string{"alice", "bob", "eve"}
	var nodes []*process
	for range 3 {
		nodes = append(nodes, startProcess(t, users, cfg))
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	for i, s := range []string{"alice", "bob"} {
		if _, err := spartan.New(nodes[i].addr(), s).RequestChat(ctx, "eve"); err != nil {
			t.Fatal(err)
		}
		if _, err := spartan.New(nodes[2].addr(), "eve").AnswerChat(ctx, s, true); err != nil {
			t.Fatal(err)
		}
	}
	const each = 200
	tl := newFaultTally()
	go follow(ctx, spartan.New(nodes[2].addr()+","+nodes[0].addr(), "eve"), "", tl, true)
	var wg sync.WaitGroup
	for i, s := range []string{"alice", "bob"} {
		wg.Go(func() { sendAll(ctx, spartan.New(nodes[i].addr(), s), "eve", false, numbered(s, each), tl) })
	}
	waitAcked := func(n int) { tl.waitFor(func(acked, _ int) bool { return acked >= n }, time.Minute) }
	waitAcked(2 * each / 3)
	nodes[2].kill()
	waitAcked(4 * each / 3)
	redis.Stop()
	redis.Restart()
	wg.Wait()
	waitDelivered(tl, 2*each, time.Minute)
	tl.report(t, "cluster: the receiver's node killed, then Redis restarted")
}

// TestListensOnItsPortOnly: the server process has one listening socket,
// the configured port (no admin address is configured).
func TestListensOnItsPortOnly(t *testing.T) {
	t.Parallel()
	p := startProcess(t, []string{"alice", "bob"}, "store:\n  kind: memory\n")
	inodes := map[string]bool{}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", p.cmd.Process.Pid))
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	for _, fd := range fds {
		target, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", p.cmd.Process.Pid, fd.Name()))
		if err == nil && strings.HasPrefix(target, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(target, "socket:["), "]")] = true
		}
	}
	var listening []string
	for _, table := range []string{"tcp", "tcp6", "udp", "udp6"} {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/%s", p.cmd.Process.Pid, table))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 10 || !inodes[f[9]] {
				continue
			}
			if strings.HasPrefix(table, "udp") || f[3] == "0A" { // 0A: LISTEN
				listening = append(listening, table+" "+f[1])
			}
		}
	}
	port := fmt.Sprintf("%04X", mustAtoi(t, p.port))
	if len(listening) != 1 || !strings.HasSuffix(listening[0], ":"+port) {
		t.Fatalf("listening sockets %q, want the one on port %s (%s hex)", listening, p.port, port)
	}
}

func mustAtoi(tb testing.TB, s string) int {
	tb.Helper()
	var n int
	if _, err := fmt.Sscanf(s, "%d", &n); err != nil {
		tb.Fatal(err)
	}
	return n
}
