// Package redistest runs a real redis-server (the Debian package, which
// `make test` installs when it is absent) for a test: on a free loopback
// port, in a directory of its own, stopped when the test ends.
package redistest

import (
	"bufio"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Server is a running redis-server.
type Server struct {
	// Addr is host:port; URL is redis://host:port/0.
	Addr, URL string

	tb   testing.TB
	port int
	dir  string
	aof  bool
	cmd  *exec.Cmd
}

// Start runs a redis-server, keeping nothing on disk, until the test ends.
func Start(tb testing.TB) *Server { return start(tb, false) }

// StartDurable runs a redis-server that writes every change to its
// append-only file and fsyncs it before answering (appendfsync always),
// so that a Restart after Stop (a kill) finds every acknowledged write.
func StartDurable(tb testing.TB) *Server { return start(tb, true) }

func start(tb testing.TB, aof bool) *Server {
	tb.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		tb.Fatal("redis-server is not installed: `make test` installs it (apt-get install redis-server)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	s := &Server{tb: tb, port: port, dir: tb.TempDir(), aof: aof}
	s.Addr = "127.0.0.1:" + strconv.Itoa(port)
	s.URL = "redis://" + s.Addr + "/0"
	s.Restart()
	tb.Cleanup(s.Stop)
	return s
}

// Dir is the server's directory: its log, and its append-only file when
// durable.
func (s *Server) Dir() string { return s.dir }

// Restart starts the server again (after Stop) on the same port and
// directory.
func (s *Server) Restart() {
	s.tb.Helper()
	appendonly := []string{"--appendonly", "no"}
	if s.aof {
		appendonly = []string{"--appendonly", "yes", "--appendfsync", "always"}
	}
	// Its log goes to a file in its directory, not the test's output.
	s.cmd = exec.Command("redis-server", append([]string{
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--dir", s.dir,
		"--save", "", "--daemonize", "no", "--loglevel", "warning",
		"--logfile", filepath.Join(s.dir, "redis.log")}, appendonly...)...)
	if err := s.cmd.Start(); err != nil {
		s.tb.Fatalf("start redis-server: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !s.ping() {
		if time.Now().After(deadline) {
			s.Stop()
			s.tb.Fatalf("redis-server on %s did not answer PING within 10 s", s.Addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop kills the server (SIGKILL: a crash, not a shutdown) and waits for it
// to exit; calling it again does nothing.
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// ping says whether the server answers PING.
func (s *Server) ping() bool {
	conn, err := net.DialTimeout("tcp", s.Addr, time.Second)
	if err != nil {
		return false
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := fmt.Fprint(conn, "PING\r\n"); err != nil {
		return false
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "+PONG")
}
