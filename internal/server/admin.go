package server

import (
	"context"
	"errors"
	"expvar"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// adminHandler serves what an operator looks at inside a running server:
// net/http/pprof's profiles under /debug/pprof/, the runtime's memory
// statistics (expvar) at /debug/vars, and the Prometheus metrics at
// /metrics. It is only ever served on the loopback-only admin address,
// never on the public port.
func adminHandler(metrics http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", metrics)
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.Handle("/debug/vars", expvar.Handler())
	return mux
}

// listenAdmin binds the admin address, if one is configured.
func (s *Server) listenAdmin() error {
	if s.cfg.Admin.Addr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", s.cfg.Admin.Addr)
	if err != nil {
		return fmt.Errorf("admin: listen on %s: %w", s.cfg.Admin.Addr, err)
	}
	s.adminLn = ln
	s.admin = &http.Server{Handler: adminHandler(s.metrics.Handler()), ReadHeaderTimeout: 10 * time.Second}
	return nil
}

// AdminAddr is the admin address the server listens on, "" when it has none.
func (s *Server) AdminAddr() string {
	if s.adminLn == nil {
		return ""
	}
	return s.adminLn.Addr().String()
}

// serveAdmin serves the admin address until shutdownAdmin.
func (s *Server) serveAdmin() {
	if s.admin == nil {
		return
	}
	s.log.Info("admin: pprof and runtime statistics", "addr", s.AdminAddr())
	go func() {
		if err := s.admin.Serve(s.adminLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Warn("admin: serve", "err", err)
		}
	}()
}

func (s *Server) shutdownAdmin(ctx context.Context) {
	if s.admin != nil {
		_ = s.admin.Shutdown(ctx)
	}
}
