package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protowire"

	spartanv1 "github.com/spartan-messenger/spartan/gen/spartan/v1"
	"github.com/spartan-messenger/spartan/gen/spartan/v1/spartanv1connect"
	"github.com/spartan-messenger/spartan/internal/server"
)

// waitLimit bounds every wait of a test.
const waitLimit = 30 * time.Second

// testCtx returns a context that ends with the test or after waitLimit.
func testCtx(tb testing.TB) context.Context {
	tb.Helper()
	ctx, cancel := context.WithTimeout(tb.Context(), waitLimit)
	tb.Cleanup(cancel)
	return ctx
}

// output collects what Run writes and signals each write.
type output struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	written chan struct{}
}

func newOutput() *output { return &output{written: make(chan struct{}, 1)} }

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	n, err := o.buf.Write(p)
	select {
	case o.written <- struct{}{}:
	default:
	}
	return n, err
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// writeConfig writes a config file in a temporary directory and returns its path.
func writeConfig(tb testing.TB, yaml string) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

// running is a server started by Run.
type running struct {
	port   int
	stdout *output
	stop   func() error
}

var startLine = regexp.MustCompile(`^Spartan server started on port (\d+)\.\n$`)

// run starts server.Run with args and environ and waits for its start-up
// line. The server stops when the test ends, if stop was not called.
func run(tb testing.TB, args, environ []string) *running {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr := newOutput(), newOutput()
	done := make(chan error, 1)
	go func() { done <- server.Run(ctx, args, environ, stdout, stderr) }()
	var (
		once    sync.Once
		runErr  error
		stopped = make(chan struct{})
	)
	stop := func() error {
		once.Do(func() {
			cancel()
			wait, cancelWait := context.WithTimeout(context.Background(), waitLimit)
			defer cancelWait()
			select {
			case runErr = <-done:
			case <-wait.Done():
				runErr = errors.New("Run did not return in time")
			}
			close(stopped)
		})
		<-stopped
		return runErr
	}
	tb.Cleanup(func() {
		if err := stop(); err != nil {
			tb.Errorf("Run = %v", err)
		}
		if tb.Failed() {
			tb.Logf("server log:\n%s", stderr)
		}
	})
	wait := testCtx(tb)
	for {
		if m := startLine.FindStringSubmatch(stdout.String()); m != nil {
			port, err := strconv.Atoi(m[1])
			if err != nil {
				tb.Fatal(err)
			}
			return &running{port: port, stdout: stdout, stop: stop}
		}
		select {
		case <-stdout.written:
		case err := <-done:
			done <- err // for stop
			tb.Fatalf("Run returned %v before starting; stdout %q", err, stdout)
		case <-wait.Done():
			tb.Fatalf("no start-up line before the deadline; stdout %q", stdout)
		}
	}
}

// client returns a Connect client of the server over cleartext HTTP/2.
func (r *running) client(tb testing.TB, opts ...connect.ClientOption) spartanv1connect.ChatServiceClient {
	tb.Helper()
	return spartanv1connect.NewChatServiceClient(h2cClient(tb), r.url(), opts...)
}

func (r *running) url() string { return fmt.Sprintf("http://127.0.0.1:%d", r.port) }

func h2cClient(tb testing.TB) *http.Client {
	tb.Helper()
	var protos http.Protocols
	protos.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: &protos}
	tb.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// freePort returns a port that was free a moment ago.
func freePort(tb testing.TB) int {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().(*net.TCPAddr).Port
}

func TestRun(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	tests := []struct {
		name    string
		config  string
		args    []string
		environ []string
		users   []string
		port    int
	}{
		{
			name:    "port 0 in the file, host from the environment, durable store",
			config:  "port: 0\nusers: [ann, ben]\nstore:\n  kind: bolt\n  path: {{dir}}/data/spartan.db\n",
			environ: []string{"SPARTAN_HOST=127.0.0.1"},
			users:   []string{"ann", "ben"},
		},
		{
			name:   "the brief's file, port and host from flags",
			config: "port: 3000\nusers: [alice, bob, charlie]\ngroups:\n  group1: [alice, bob]\nmax_num_messages_per_user: 10\nmax_call_per_30_seconds_per_user: 5\nstore:\n  kind: memory\n",
			args:   []string{"-port", strconv.Itoa(port), "-host", "127.0.0.1"},
			users:  []string{"alice", "bob", "charlie"},
			port:   port,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := writeConfig(t, strings.ReplaceAll(tt.config, "{{dir}}", t.TempDir()))
			r := run(t, append([]string{"-config", path}, tt.args...), tt.environ)
			if tt.port != 0 && r.port != tt.port {
				t.Errorf("started on port %d, want %d", r.port, tt.port)
			}
			res, err := r.client(t, connect.WithGRPC()).ListUsers(testCtx(t), connect.NewRequest(&spartanv1.ListUsersRequest{}))
			if err != nil {
				t.Fatalf("ListUsers on the announced port: %v", err)
			}
			if !slices.Equal(res.Msg.GetUsers(), tt.users) {
				t.Errorf("users %q, want %q", res.Msg.GetUsers(), tt.users)
			}
			if err := r.stop(); err != nil {
				t.Fatalf("Run after cancelling its context = %v, want nil", err)
			}
			if got, want := r.stdout.String(), fmt.Sprintf("Spartan server started on port %d.\n", r.port); got != want {
				t.Errorf("stdout %q, want exactly %q", got, want)
			}
		})
	}
}

func TestRunBadConfig(t *testing.T) {
	t.Parallel()
	// A port in use, held for the whole test.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = busy.Close() })
	busyPort := busy.Addr().(*net.TCPAddr).Port
	tests := []struct {
		name   string
		config string
		args   []string
		want   []string
		// usage is set when the flag package prints usage to stderr; no
		// other case may log a word (a failed start says only why, in the
		// error, not with the cache statistics of a run that never was).
		usage bool
	}{
		{name: "no users", config: "users: []\n", want: []string{"no users are configured"}},
		{name: "duplicate user", config: "users: [alice, bob, alice]\n", want: []string{`user "alice" is listed twice`}},
		{name: "bad port", config: "port: 70000\nusers: [alice]\n", want: []string{"port 70000 is not a TCP port"}},
		{name: "negative port flag", config: "users: [alice]\n", args: []string{"-port", "-1"}, want: []string{"port -1 is not a TCP port"}},
		{
			name:   "port in use",
			config: fmt.Sprintf("host: 127.0.0.1\nport: %d\nusers: [alice]\nstore:\n  kind: memory\n", busyPort),
			want:   []string{fmt.Sprintf("listen on 127.0.0.1:%d: port %d is in use", busyPort, busyPort), "address already in use"},
		},
		{name: "unknown key", config: "users: [alice]\ncolour: blue\n", want: []string{"unknown key", "colour"}},
		{name: "not YAML", config: "users: [alice\n", want: []string{"config file"}},
		{name: "missing file", args: []string{"-config", "/nonexistent/spartan.yaml"}, want: []string{"/nonexistent/spartan.yaml"}},
		{name: "stray argument", config: "users: [alice]\n", args: []string{"serve"}, want: []string{`unexpected argument "serve"`}},
		{name: "unknown flag", config: "users: [alice]\n", args: []string{"-colour", "blue"}, want: []string{"colour"}, usage: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var args []string
			if tt.config != "" {
				args = []string{"-config", writeConfig(t, tt.config)}
			}
			args = append(args, tt.args...)
			// A bad config must fail at once; the deadline only bounds a server
			// that wrongly started.
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			stdout, stderr := newOutput(), newOutput()
			err := server.Run(ctx, args, nil, stdout, stderr)
			if err == nil {
				t.Fatalf("Run succeeded; stdout %q", stdout)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if s := stdout.String(); s != "" {
				t.Errorf("stdout %q, want nothing", s)
			}
			if s := stderr.String(); s != "" && !tt.usage {
				t.Errorf("stderr %q, want nothing", s)
			}
		})
	}
}

// repoRoot finds the repository's root above the working directory.
func repoRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "tools", "go.mod")); err == nil {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				return dir
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("no repository root (with go.mod and tools/go.mod) above the working directory")
		}
		dir = parent
	}
}

// toolBuildLimit bounds building a tool for a plain `go test`; on a cold
// cache that downloads and compiles it, which takes a minute or more.
const toolBuildLimit = 10 * time.Minute

// grpcurlBinary returns the path of the grpcurl pinned in tools/go.mod.
//
// `make test` builds it into $TEST_SPARTAN_BIN (`make tools`) before any test
// runs, so no test compiles a tool within its own deadline. Without that
// variable (a developer's plain `go test ./...`) it is built here, once for
// the calling test, into a temporary directory, with a deadline of its own
// (toolBuildLimit) far beyond waitLimit: quick on a warm cache, slow but
// working on a cold one. Skipping instead would quietly drop these tests from
// every run outside make.
func grpcurlBinary(tb testing.TB, root string) string {
	tb.Helper()
	if dir := os.Getenv("TEST_SPARTAN_BIN"); dir != "" {
		path := filepath.Join(dir, "grpcurl")
		if _, err := os.Stat(path); err != nil {
			tb.Fatalf("grpcurl from $TEST_SPARTAN_BIN: %v (run `make tools`, or unset TEST_SPARTAN_BIN to build it here)", err)
		}
		return path
	}
	ctx, cancel := context.WithTimeout(tb.Context(), toolBuildLimit)
	defer cancel()
	path := filepath.Join(tb.TempDir(), "grpcurl")
	argv := []string{"build", "-modfile=" + filepath.Join(root, "tools", "go.mod"), "-o", path, "github.com/fullstorydev/grpcurl/cmd/grpcurl"}
	tb.Logf("TEST_SPARTAN_BIN is not set: go %s", strings.Join(argv, " "))
	cmd := exec.CommandContext(ctx, "go", argv...)
	cmd.Dir = root // -modfile still needs the main module's go.mod here.
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("go %s: %v\n%s", strings.Join(argv, " "), err, out)
	}
	return path
}

// grpcurl runs the grpcurl at path in plaintext with args and returns its
// standard output, failing the test if it fails.
func grpcurl(tb testing.TB, path string, args ...string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(tb.Context(), waitLimit)
	defer cancel()
	argv := append([]string{"-plaintext"}, args...)
	cmd := exec.CommandContext(ctx, path, argv...)
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		tb.Fatalf("grpcurl %s: %v\nstdout: %s\nstderr: %s", strings.Join(argv, " "), err, &stdout, &stderr)
	}
	return stdout.String()
}

func TestReflectionAndHealth(t *testing.T) {
	t.Parallel()
	grpcurlPath := grpcurlBinary(t, repoRoot(t))
	r := run(t, []string{"-config", writeConfig(t, "host: 127.0.0.1\nport: 0\nusers: [alice, bob, carol]\nstore:\n  kind: memory\n")}, nil)
	addr := fmt.Sprintf("127.0.0.1:%d", r.port)

	t.Run("grpcurl list", func(t *testing.T) {
		t.Parallel()
		got := strings.Fields(grpcurl(t, grpcurlPath, addr, "list"))
		for _, want := range []string{spartanv1connect.ChatServiceName, "grpc.health.v1.Health"} {
			if !slices.Contains(got, want) {
				t.Errorf("grpcurl list = %q, want %s among them", got, want)
			}
		}
	})
	t.Run("grpcurl describe", func(t *testing.T) {
		t.Parallel()
		got := grpcurl(t, grpcurlPath, addr, "describe", spartanv1connect.ChatServiceName)
		for _, want := range []string{"rpc ReceiveMsg ( .spartan.v1.Message ) returns ( stream .spartan.v1.Message )", "rpc SendMsg"} {
			if !strings.Contains(got, want) {
				t.Errorf("grpcurl describe does not show %q:\n%s", want, got)
			}
		}
	})
	t.Run("grpcurl ListUsers", func(t *testing.T) {
		t.Parallel()
		out := grpcurl(t, grpcurlPath, "-d", "{}", addr, spartanv1connect.ChatServiceListUsersProcedure[1:])
		var res struct{ Users []string }
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("grpcurl output %q: %v", out, err)
		}
		if want := []string{"alice", "bob", "carol"}; !slices.Equal(res.Users, want) {
			t.Errorf("ListUsers through reflection = %q, want %q", res.Users, want)
		}
	})
	for _, service := range []string{"", spartanv1connect.ChatServiceName} {
		t.Run(fmt.Sprintf("grpcurl health check %q", service), func(t *testing.T) {
			t.Parallel()
			out := grpcurl(t, grpcurlPath, "-d", fmt.Sprintf(`{"service":%q}`, service), addr, "grpc.health.v1.Health/Check")
			var res struct{ Status string }
			if err := json.Unmarshal([]byte(out), &res); err != nil {
				t.Fatalf("grpcurl output %q: %v", out, err)
			}
			if res.Status != "SERVING" {
				t.Errorf("health of %q = %q, want SERVING", service, res.Status)
			}
		})
	}
	// grpcurl uses v1 whenever the server has it, so v1alpha is asked directly.
	for _, version := range []string{"v1", "v1alpha"} {
		t.Run("reflection "+version, func(t *testing.T) {
			t.Parallel()
			got := listServices(t, r.url(), version)
			for _, want := range []string{spartanv1connect.ChatServiceName, "grpc.health.v1.Health"} {
				if !slices.Contains(got, want) {
					t.Errorf("reflection %s lists %q, want %s among them", version, got, want)
				}
			}
		})
	}
}

// rawCodec passes protobuf bytes through unchanged, so that a test can speak
// the reflection protocol without its generated types.
type rawCodec struct{}

// raw is an encoded protobuf message.
type raw struct{ b []byte }

func (rawCodec) Name() string { return "proto" }

func (rawCodec) Marshal(msg any) ([]byte, error) { return msg.(*raw).b, nil }

func (rawCodec) Unmarshal(b []byte, msg any) error {
	msg.(*raw).b = append([]byte(nil), b...)
	return nil
}

// listServices asks the server's reflection service of the given version
// (v1 or v1alpha; their messages are the same) for its services, over gRPC.
func listServices(tb testing.TB, baseURL, version string) []string {
	tb.Helper()
	c := connect.NewClient[raw, raw](h2cClient(tb), baseURL+"/grpc.reflection."+version+".ServerReflection/ServerReflectionInfo",
		connect.WithGRPC(), connect.WithCodec(rawCodec{}))
	stream := c.CallBidiStream(testCtx(tb))
	// ServerReflectionRequest{list_services: "*"}: field 7, a string.
	req := protowire.AppendString(protowire.AppendTag(nil, 7, protowire.BytesType), "*")
	if err := stream.Send(&raw{b: req}); err != nil {
		tb.Fatalf("reflection %s: send: %v", version, err)
	}
	if err := stream.CloseRequest(); err != nil {
		tb.Fatal(err)
	}
	res, err := stream.Receive()
	if err != nil {
		tb.Fatalf("reflection %s: %v", version, err)
	}
	if err := stream.CloseResponse(); err != nil {
		tb.Fatal(err)
	}
	// ServerReflectionResponse.list_services_response (6) holds
	// ListServiceResponse.service (1) entries, each a ServiceResponse with name (1).
	var names []string
	for _, list := range fields(tb, res.b, 6) {
		for _, svc := range fields(tb, list, 1) {
			for _, name := range fields(tb, svc, 1) {
				names = append(names, string(name))
			}
		}
	}
	return names
}

// fields returns the values of the length-delimited fields numbered num in b.
func fields(tb testing.TB, b []byte, num protowire.Number) [][]byte {
	tb.Helper()
	var out [][]byte
	for len(b) > 0 {
		n, typ, l := protowire.ConsumeTag(b)
		if l < 0 {
			tb.Fatalf("bad protobuf: %v", protowire.ParseError(l))
		}
		b = b[l:]
		l = protowire.ConsumeFieldValue(n, typ, b)
		if l < 0 {
			tb.Fatalf("bad protobuf: %v", protowire.ParseError(l))
		}
		if n == num && typ == protowire.BytesType {
			v, _ := protowire.ConsumeBytes(b[:l])
			out = append(out, v)
		}
		b = b[l:]
	}
	return out
}
