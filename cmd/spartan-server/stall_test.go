package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	spartanv1 "github.com/spartan-messenger/spartan/gen/spartan/v1"
	"github.com/spartan-messenger/spartan/gen/spartan/v1/spartanv1connect"
)

// stalledStreams is how many streams the test opens and never reads, and
// stallBound the most server heap they may hold together (issue: "100
// stalled streams on 64 KiB messages cost under 150 MB in total"; before
// the byte bound on a stream's read batch, each held its whole batch: 60 ×
// 64 KiB here, 380 MB for all of them).
const (
	stalledStreams = 100
	stallMessages  = 60
	stallBound     = 150 << 20
)

// TestStalledStreamsHoldLittle runs the real server binary with its admin
// address (a bolt store, and a one-message cache, so every stream reads its
// own copy from the file as streams of many users would), fills one inbox with 64 KiB messages, opens 100 ReceiveMsg
// streams of it from clients that never read a byte (each on its own
// connection with HTTP/2's smallest windows), and checks from the server's
// own runtime statistics that their heap stays within the bound.
func TestStalledStreamsHoldLittle(t *testing.T) {
	t.Parallel()
	srv := startBinary(t, unlimited+"store:\n  path: {dir}/spartan.db\ncache:\n  messages_per_log: 1\n  max_entries: 10\n")
	ctx := t.Context()
	c := aliceAndBob(t, srv)
	payload := []byte(strings.Repeat("x", 64<<10))
	for range stallMessages {
		if _, err := c.SendMsg(ctx, connect.NewRequest(&spartanv1.SendMsgRequest{User: "alice", Receiver: "bob", Payload: payload})); err != nil {
			t.Fatal(err)
		}
	}
	before := heapInuse(t, srv.admin)
	for range stalledStreams {
		stallStream(t, srv.addr, "bob")
	}
	// Each stream reads a batch, writes what the windows let through and
	// blocks. Wait until the server's goroutines have settled, then measure.
	var peak uint64
	for range 20 {
		time.Sleep(100 * time.Millisecond)
		peak = max(peak, heapInuse(t, srv.admin))
	}
	held := int64(peak) - int64(before)
	t.Logf("%d stalled streams hold %.1f MiB of server heap (%.0f KiB each)", stalledStreams, float64(held)/(1<<20), float64(held)/stalledStreams/1024)
	if held > stallBound {
		t.Fatalf("%d stalled streams hold %d MiB, over the bound of %d MiB", stalledStreams, held>>20, stallBound>>20)
	}
}

// binServer is the server binary running for a test, and its process id.
type binServer struct {
	url, addr, admin string
	pid              int
}

// unlimited raises every rate limit past what these tests do.
const unlimited = "rate:\n  calls: 1000000\n  window_seconds: 1\n  classes:\n" +
	"    stream: {calls: 1000000, window_seconds: 1, burst: 1000000}\n" +
	"    request: {calls: 1000000, window_seconds: 1, burst: 1000000}\n" +
	"    login: {calls: 1000000, window_seconds: 1, burst: 1000000}\n"

// serverBin returns the directory of the spartan-server binary:
// TEST_SPARTAN_BIN, or one go build makes for tb.
func serverBin(tb testing.TB) string {
	tb.Helper()
	if bin := os.Getenv("TEST_SPARTAN_BIN"); bin != "" {
		return bin
	}
	bin := tb.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin+string(filepath.Separator), ".").CombinedOutput(); err != nil {
		tb.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startBinary runs the built spartan-server on loopback for users alice and
// bob, with an admin address, no bound on connections per address, and the
// configuration in extra ({dir} stands for a temporary directory).
func startBinary(tb testing.TB, extra string) binServer {
	tb.Helper()
	return startBinaryUsers(tb, []string{"alice", "bob"}, extra)
}

// startBinaryUsers is startBinary for the given users.
func startBinaryUsers(tb testing.TB, users []string, extra string) binServer {
	tb.Helper()
	bin := serverBin(tb)
	dir := tb.TempDir()
	// These tests drive the server with plain gRPC clients that name their
	// user; logging in is tested in internal/server and by the clients.
	cfg := "users: [" + strings.Join(users, ", ") + "]\nauth:\n  required: false\nadmin:\n  addr: 127.0.0.1:0\nlimits:\n  conns_per_address: 0\n" +
		strings.ReplaceAll(extra, "{dir}", dir)
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(bin, "spartan-server"), "-config", cfgPath, "-host", "127.0.0.1", "-port", "0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	})
	adminc := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`msg="admin: pprof and runtime statistics" addr=(\S+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				adminc <- m[1]
			}
		}
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		tb.Fatalf("no start-up line: %v", err)
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	m := regexp.MustCompile(`port (\d+)\.`).FindStringSubmatch(line)
	if m == nil {
		tb.Fatalf("start-up line %q", line)
	}
	var admin string
	select {
	case admin = <-adminc:
	case <-time.After(30 * time.Second):
		tb.Fatal("the server did not log its admin address")
	}
	addr := "127.0.0.1:" + m[1]
	return binServer{url: "http://" + addr, addr: addr, admin: "http://" + admin, pid: cmd.Process.Pid}
}

func h2c() *http.Client {
	protocols := new(http.Protocols)
	protocols.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: &http.Transport{Protocols: protocols}}
}

// heapInuse reads the server's heap in use from its admin address.
func heapInuse(tb testing.TB, admin string) uint64 {
	tb.Helper()
	res, err := http.Get(admin + "/debug/vars")
	if err != nil {
		tb.Fatal(err)
	}
	defer func() { _ = res.Body.Close() }()
	var vars struct {
		Memstats struct {
			HeapInuse uint64 `json:"HeapInuse"`
		} `json:"memstats"`
	}
	if err := json.NewDecoder(res.Body).Decode(&vars); err != nil {
		tb.Fatal(err)
	}
	return vars.Memstats.HeapInuse
}

// stallStream opens one ReceiveMsg stream over its own HTTP/2 connection
// and never reads from it: the client's windows stay at HTTP/2's initial
// 65,535 bytes, so the server can send no more than that.
func stallStream(tb testing.TB, addr, receiver string) {
	tb.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = conn.Close() })
	req, err := proto.Marshal(&spartanv1.Message{Receiver: receiver})
	if err != nil {
		tb.Fatal(err)
	}
	var out []byte
	out = append(out, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"...)
	out = appendFrame(out, 0x4, 0, 0, nil) // SETTINGS, none changed
	var hdr []byte
	for _, f := range [][2]string{
		{":method", "POST"}, {":scheme", "http"}, {":path", "/spartan.v1.ChatService/ReceiveMsg"},
		{":authority", addr}, {"content-type", "application/grpc"}, {"te", "trailers"},
	} {
		hdr = appendLiteral(hdr, f[0], f[1])
	}
	out = appendFrame(out, 0x1, 0x4, 1, hdr) // HEADERS, END_HEADERS
	msg := binary.BigEndian.AppendUint32([]byte{0}, uint32(len(req)))
	out = appendFrame(out, 0x0, 0x1, 1, append(msg, req...)) // DATA, END_STREAM
	if _, err := conn.Write(out); err != nil {
		tb.Fatal(err)
	}
}

// appendFrame appends an HTTP/2 frame.
func appendFrame(dst []byte, typ, flags byte, stream uint32, payload []byte) []byte {
	n := len(payload)
	dst = append(dst, byte(n>>16), byte(n>>8), byte(n), typ, flags)
	dst = binary.BigEndian.AppendUint32(dst, stream)
	return append(dst, payload...)
}

// appendLiteral appends an HPACK "literal header field without indexing,
// new name" with plain (not Huffman) strings shorter than 127 bytes.
func appendLiteral(dst []byte, name, value string) []byte {
	if len(name) >= 127 || len(value) >= 127 {
		panic(fmt.Sprintf("header %s too long for this encoder", name))
	}
	dst = append(dst, 0x00, byte(len(name)))
	dst = append(dst, name...)
	dst = append(dst, byte(len(value)))
	return append(dst, value...)
}

// liveHeap is the server's heap in use right after a garbage collection
// (which asking for a heap profile with gc=1 runs).
func liveHeap(tb testing.TB, admin string) uint64 {
	tb.Helper()
	res, err := http.Get(admin + "/debug/pprof/heap?gc=1")
	if err != nil {
		tb.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	_ = res.Body.Close()
	return heapInuse(tb, admin)
}

// TestMemoryStoreStaysWithinRetention runs the real server binary on the
// memory store with a small retention and sends thousands of 1 KiB messages
// that nobody reads: once the logs are full, the server's live heap stays
// flat (before retention it grew by about 2.5 KiB a message).
func TestMemoryStoreStaysWithinRetention(t *testing.T) {
	t.Parallel()
	srv := startBinary(t, unlimited+"store:\n  kind: memory\nretention:\n  messages_per_log: 100\n  max_unread: 200\n")
	ctx := t.Context()
	c := aliceAndBob(t, srv)
	payload := []byte(strings.Repeat("y", 1<<10))
	send := func(n int) {
		errc := make(chan error, 8)
		for w := range 8 {
			go func() {
				for i := w; i < n; i += 8 {
					_, err := c.SendMsg(ctx, connect.NewRequest(&spartanv1.SendMsgRequest{User: "alice", Receiver: "bob", Payload: payload}))
					if err != nil {
						errc <- err
						return
					}
				}
				errc <- nil
			}()
		}
		for range 8 {
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
		}
	}
	send(2000)
	full := liveHeap(t, srv.admin)
	send(8000)
	after := liveHeap(t, srv.admin)
	grew := int64(after) - int64(full)
	t.Logf("live heap %.1f MiB with full logs, %.1f MiB after 8,000 more messages (%+.0f KiB)", float64(full)/(1<<20), float64(after)/(1<<20), float64(grew)/1024)
	if grew > 4<<20 {
		t.Fatalf("the live heap grew by %d KiB over 8,000 messages; retention should keep it flat", grew>>10)
	}
}

// aliceAndBob returns a gRPC client of srv once alice and bob chat.
func aliceAndBob(tb testing.TB, srv binServer) spartanv1connect.ChatServiceClient {
	tb.Helper()
	ctx := tb.Context()
	c := spartanv1connect.NewChatServiceClient(h2c(), srv.url, connect.WithGRPC())
	if _, err := c.RequestChat(ctx, connect.NewRequest(&spartanv1.RequestChatRequest{User: "alice", Peer: "bob"})); err != nil {
		tb.Fatal(err)
	}
	if _, err := c.AnswerChat(ctx, connect.NewRequest(&spartanv1.AnswerChatRequest{User: "bob", Peer: "alice", Accept: true})); err != nil {
		tb.Fatal(err)
	}
	return c
}
