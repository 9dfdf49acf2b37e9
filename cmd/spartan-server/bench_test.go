package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	goredis "github.com/redis/go-redis/v9"

	spartanv1 "github.com/spartan-messenger/spartan/gen/spartan/v1"
	"github.com/spartan-messenger/spartan/gen/spartan/v1/spartanv1connect"
	"github.com/spartan-messenger/spartan/internal/procstat"
	"github.com/spartan-messenger/spartan/internal/redistest"
)

// The load of BenchmarkCluster; the flags follow the package on go test's
// command line: go test -run '^$' -bench Cluster ./cmd/spartan-server -cluster.pairs 16.
var (
	clusterPairs     = flag.Int("cluster.pairs", 8, "BenchmarkCluster: senders, one message in flight each, and as many receivers")
	clusterReceivers = flag.Int("cluster.receivers", 0, "BenchmarkCluster: fewer receivers than senders (sender i sends to receiver i mod this), to contend")
	clusterWarmup    = flag.Duration("cluster.warmup", time.Second, "BenchmarkCluster: sending before the measured window")
	clusterWindow    = flag.Duration("cluster.window", 5*time.Second, "BenchmarkCluster: the measured window (per b.N)")
	clusterProfile   = flag.String("cluster.cpuprofile", "", "BenchmarkCluster: a directory to write each server's CPU profile of the window into")
)

// clusterPayload is the size of every message sent.
const clusterPayload = 64

// BenchmarkCluster measures messages delivered per second, and the CPU the
// servers (and Redis) spend per message, with the real spartan-server
// binaries in three setups: one node on Redis, three nodes sharing one
// Redis, one node on a bolt file. Each setup has its own fresh Redis or
// file. P senders (-cluster.pairs; one message in flight each, as a client
// sends) write 64-byte messages to P receivers (or fewer, with
// -cluster.receivers), each following its inbox on a ReceiveMsg stream;
// every user has a connection of its own, senders are spread over the nodes
// round-robin and each receiver is on the node after its sender's. After a
// warm-up, the window counts the messages the streams received and the CPU
// time (utime+stime) of every server process, of redis-server (INFO cpu)
// and of this process, the load driver, and logs Redis's commands per
// message. An op is one delivered message: ns/op is the window over them.
// docs/benchmarks.md has the figures and what follows from them.
func BenchmarkCluster(b *testing.B) {
	b.Setenv("TEST_SPARTAN_BIN", serverBin(b)) // built once, for every node
	setups := []struct {
		name  string
		nodes int
		redis bool
	}{
		{"redis-1node", 1, true},
		{"redis-3nodes", 3, true},
		{"bolt-1node", 1, false},
	}
	for _, s := range setups {
		b.Run(s.name, func(b *testing.B) {
			senders, receivers := *clusterPairs, *clusterPairs
			if r := *clusterReceivers; r > 0 && r < senders {
				receivers = r
			}
			users := make([]string, senders+receivers)
			for i := range users {
				users[i] = "u" + strconv.Itoa(i)
			}
			var (
				redis *redistest.Server
				extra = unlimited + "store:\n  kind: bolt\n  path: {dir}/spartan.db\n"
			)
			if s.redis {
				redis = redistest.Start(b)
				extra = unlimited + "store:\n  kind: redis\nredis:\n  url: " + redis.URL + "\n"
			}
			var nodes []binServer
			for range s.nodes {
				nodes = append(nodes, startBinaryUsers(b, users, extra))
			}
			runCluster(b, s.name, nodes, redis, users, senders)
		})
	}
}

// runCluster sets the chats up on nodes (the first senders users send, the
// others receive), sends for the warm-up and the window, and reports what
// the window measured.
func runCluster(b *testing.B, name string, nodes []binServer, redis *redistest.Server, users []string, senders int) {
	ctx := b.Context()
	receivers := len(users) - senders
	receiverOf := func(from int) int { return senders + from%receivers }
	// Every user has a connection of its own, to the node it is on.
	clients := make([]spartanv1connect.ChatServiceClient, len(users))
	nodeOf := func(u int) int {
		if u < senders {
			return u % len(nodes)
		}
		return (u - senders + 1) % len(nodes)
	}
	for u := range users {
		clients[u] = spartanv1connect.NewChatServiceClient(h2c(), nodes[nodeOf(u)].url, connect.WithGRPC())
	}
	for from := range senders {
		to := receiverOf(from)
		if _, err := clients[from].RequestChat(ctx, connect.NewRequest(&spartanv1.RequestChatRequest{User: users[from], Peer: users[to]})); err != nil {
			b.Fatal(err)
		}
		if _, err := clients[to].AnswerChat(ctx, connect.NewRequest(&spartanv1.AnswerChatRequest{User: users[to], Peer: users[from], Accept: true})); err != nil {
			b.Fatal(err)
		}
	}

	var (
		delivered atomic.Int64
		streams   sync.WaitGroup
	)
	defer streams.Wait()
	streamCtx, stopStreams := context.WithCancel(ctx)
	defer stopStreams()
	for to := senders; to < len(users); to++ {
		stream, err := clients[to].ReceiveMsg(streamCtx, connect.NewRequest(&spartanv1.Message{Receiver: users[to]}))
		if err != nil {
			b.Fatal(err)
		}
		// The stream starts with the others' presence: once one event has
		// come, the stream follows the inbox.
		if !stream.Receive() {
			b.Fatalf("%s's stream ended at once: %v", users[to], stream.Err())
		}
		streams.Go(func() {
			defer func() { _ = stream.Close() }()
			for stream.Receive() {
				if stream.Msg().GetType() == spartanv1.MessageType_MESSAGE_TYPE_TEXT {
					delivered.Add(1)
				}
			}
		})
	}

	var (
		sent, failed atomic.Int64
		lastErr      atomic.Value
		sending      sync.WaitGroup
	)
	defer sending.Wait()
	sendCtx, stopSending := context.WithCancel(ctx)
	defer stopSending()
	payload := bytes.Repeat([]byte("m"), clusterPayload)
	for from := range senders {
		to := receiverOf(from)
		sending.Go(func() {
			for i := 0; sendCtx.Err() == nil; i++ {
				_, err := clients[from].SendMsg(sendCtx, connect.NewRequest(&spartanv1.SendMsgRequest{
					User: users[from], Receiver: users[to], Payload: payload,
					ClientMsgId: users[from] + "-" + strconv.Itoa(i),
				}))
				switch {
				case err == nil:
					sent.Add(1)
				case sendCtx.Err() == nil:
					failed.Add(1)
					lastErr.Store(err.Error())
				}
			}
		})
	}

	time.Sleep(*clusterWarmup)
	hz, hzKnown := procstat.ClockTicks()
	rc := redisClient(b, redis)
	profiles := startProfiles(b, name, nodes, time.Duration(b.N)**clusterWindow)
	before := sample(b, nodes, rc, hz)
	delivered0, sent0 := delivered.Load(), sent.Load()
	b.ResetTimer()
	time.Sleep(time.Duration(b.N) * *clusterWindow)
	b.StopTimer()
	after := sample(b, nodes, rc, hz)
	got, accepted := delivered.Load()-delivered0, sent.Load()-sent0
	stopSending()
	sending.Wait()
	stopStreams()
	profiles.Wait()

	if n := failed.Load(); n > 0 {
		b.Fatalf("%d sends failed, the last: %v", n, lastErr.Load())
	}
	if got == 0 {
		b.Fatal("no message was delivered in the window")
	}
	secs := after.at.Sub(before.at).Seconds()
	per10k := func(cpu float64) float64 { return cpu / float64(got) * 1e4 }
	b.ReportMetric(after.at.Sub(before.at).Seconds()*1e9/float64(got), "ns/op")
	b.ReportMetric(float64(got)/secs, "msgs/s")
	b.ReportMetric(per10k(after.servers-before.servers), "server-cpu-s/10k-msgs")
	b.ReportMetric(per10k(after.driver-before.driver), "driver-cpu-s/10k-msgs")
	perMsg := func(end, start uint64) float64 { return float64(end-start) / float64(got) }
	b.ReportMetric(perMsg(after.serverBytes, before.serverBytes), "server-B/msg")
	b.ReportMetric(perMsg(after.serverAllocs, before.serverAllocs), "server-allocs/msg")
	// With -benchmem: the driver's, per delivered message too.
	b.ReportMetric(perMsg(after.driverBytes, before.driverBytes), "B/op")
	b.ReportMetric(perMsg(after.driverAllocs, before.driverAllocs), "allocs/op")
	if rc != nil {
		b.ReportMetric(per10k(after.redis-before.redis), "redis-cpu-s/10k-msgs")
		cmds := diffCounts(before.commands, after.commands)
		var total int64
		for _, c := range cmds {
			total += c.n
		}
		b.ReportMetric(float64(total)/float64(got), "redis-cmds/msg")
		var line []string
		for _, c := range cmds {
			line = append(line, fmt.Sprintf("%s %.2f", c.name, float64(c.n)/float64(got)))
		}
		b.Logf("Redis commands per delivered message: %s", strings.Join(line, ", "))
		// Every send commits once (EXEC); an EXEC more is an Update run
		// again because another writer changed a key it had watched.
		execs := after.commands["exec"] - before.commands["exec"]
		b.Logf("EXECs %d for %d sends: %.3f runs again per send", execs, accepted, max(0, float64(execs-accepted)/float64(accepted)))
	}
	if !hzKnown {
		b.Logf("clock ticks per second unknown (no AT_CLKTCK in /proc/self/auxv); took %d", hz)
	}
	ours := after.servers - before.servers + after.redis - before.redis + after.driver - before.driver
	b.Logf("%d nodes, %d senders, %d receivers: %d delivered, %d sends accepted in %.2f s (%.0f sent/s); CPU s: servers %.2f, redis %.2f, driver %.2f, the rest of the machine %.2f (of %.2f: %d CPUs)",
		len(nodes), senders, receivers, got, accepted, secs, float64(accepted)/secs,
		after.servers-before.servers, after.redis-before.redis, after.driver-before.driver,
		after.machine-before.machine-ours, secs*float64(runtime.NumCPU()), runtime.NumCPU())
}

// cpuSample is what the window measures at each end; CPU times are seconds.
type cpuSample struct {
	at                     time.Time
	servers, redis, driver float64
	machine                float64 // every CPU's busy time, /proc/stat
	// Bytes and objects allocated, by the servers (summed) and by the driver.
	serverBytes, serverAllocs, driverBytes, driverAllocs uint64
	commands                                             map[string]int64 // Redis commandstats calls, per command
}

func sample(tb testing.TB, nodes []binServer, rc *goredis.Client, hz int) cpuSample {
	tb.Helper()
	s := cpuSample{at: time.Now(), driver: procCPU(tb, os.Getpid(), hz), machine: machineCPU(tb, hz)}
	for _, n := range nodes {
		s.servers += procCPU(tb, n.pid, hz)
		total, objects := allocated(tb, n.admin)
		s.serverBytes += total
		s.serverAllocs += objects
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s.driverBytes, s.driverAllocs = ms.TotalAlloc, ms.Mallocs
	if rc != nil {
		info, err := rc.Info(tb.Context(), "cpu", "commandstats").Result()
		if err != nil {
			tb.Fatal(err)
		}
		s.commands = map[string]int64{}
		for line := range strings.Lines(info) {
			k, v, _ := strings.Cut(strings.TrimSpace(line), ":")
			switch {
			case k == "used_cpu_user", k == "used_cpu_sys":
				f, err := strconv.ParseFloat(v, 64)
				if err != nil {
					tb.Fatalf("INFO cpu: %s: %v", line, err)
				}
				s.redis += f
			case strings.HasPrefix(k, "cmdstat_"):
				// cmdstat_get:calls=12,usec=...
				calls, _, _ := strings.Cut(strings.TrimPrefix(v, "calls="), ",")
				n, err := strconv.ParseInt(calls, 10, 64)
				if err != nil {
					tb.Fatalf("INFO commandstats: %s: %v", line, err)
				}
				s.commands[strings.TrimPrefix(k, "cmdstat_")] = n
			}
		}
	}
	return s
}

// allocated is what the server at admin has allocated since it started:
// bytes and objects, from its runtime statistics.
func allocated(tb testing.TB, admin string) (total, objects uint64) {
	tb.Helper()
	req, err := http.NewRequestWithContext(tb.Context(), http.MethodGet, admin+"/debug/vars", http.NoBody)
	if err != nil {
		tb.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer func() { _ = res.Body.Close() }()
	var vars struct {
		Memstats struct {
			TotalAlloc uint64 `json:"TotalAlloc"`
			Mallocs    uint64 `json:"Mallocs"`
		} `json:"memstats"`
	}
	if err := json.NewDecoder(res.Body).Decode(&vars); err != nil {
		tb.Fatal(err)
	}
	return vars.Memstats.TotalAlloc, vars.Memstats.Mallocs
}

// cmdCount is how often one Redis command ran.
type cmdCount struct {
	name string
	n    int64
}

// diffCounts is after less before, most frequent first, INFO itself left
// out.
func diffCounts(before, after map[string]int64) []cmdCount {
	var out []cmdCount
	for name, n := range after {
		if d := n - before[name]; d > 0 && name != "info" {
			out = append(out, cmdCount{name, d})
		}
	}
	slices.SortFunc(out, func(a, b cmdCount) int { return int(b.n - a.n) })
	return out
}

// redisClient connects to redis, if there is one, for its statistics.
func redisClient(tb testing.TB, redis *redistest.Server) *goredis.Client {
	tb.Helper()
	if redis == nil {
		return nil
	}
	rc := goredis.NewClient(&goredis.Options{Addr: redis.Addr})
	tb.Cleanup(func() { _ = rc.Close() })
	return rc
}

// procCPU is the CPU time, user and system, that process pid has used, in
// seconds (this benchmark needs Linux's /proc).
func procCPU(tb testing.TB, pid, hz int) float64 {
	tb.Helper()
	cpu, err := procstat.Reader{Hz: hz}.CPU(pid)
	if err != nil {
		tb.Fatal(err)
	}
	return cpu
}

// machineCPU is the time all CPUs have been busy, in seconds
// (internal/procstat: /proc/stat less idle and iowait).
func machineCPU(tb testing.TB, hz int) float64 {
	tb.Helper()
	busy, err := procstat.Reader{Hz: hz}.MachineBusy()
	if err != nil {
		tb.Fatal(err)
	}
	return busy
}

// startProfiles asks each node for a CPU profile of the next d, when
// -cluster.cpuprofile names a directory, and writes them there as
// NAME-nodeI.pprof (go tool pprof bin/spartan-server FILE).
func startProfiles(tb testing.TB, name string, nodes []binServer, d time.Duration) *sync.WaitGroup {
	tb.Helper()
	var wg sync.WaitGroup
	if *clusterProfile == "" {
		return &wg
	}
	if err := os.MkdirAll(*clusterProfile, 0o755); err != nil {
		tb.Fatal(err)
	}
	for i, n := range nodes {
		path := filepath.Join(*clusterProfile, fmt.Sprintf("%s-node%d.pprof", name, i))
		wg.Go(func() {
			url := fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", n.admin, max(1, int(d.Seconds())))
			req, err := http.NewRequestWithContext(tb.Context(), http.MethodGet, url, http.NoBody)
			if err != nil {
				tb.Errorf("CPU profile of node %d: %v", i, err)
				return
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				tb.Errorf("CPU profile of node %d: %v", i, err)
				return
			}
			defer func() { _ = res.Body.Close() }()
			body, err := io.ReadAll(res.Body)
			if err == nil && res.StatusCode != http.StatusOK {
				err = fmt.Errorf("%s: %s", res.Status, body)
			}
			if err == nil {
				err = os.WriteFile(path, body, 0o600)
			}
			if err != nil {
				tb.Errorf("CPU profile of node %d: %v", i, err)
			}
		})
	}
	return &wg
}
