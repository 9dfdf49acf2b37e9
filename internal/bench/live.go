package bench

import (
	"context"
	"encoding/json"
	"expvar"
	"fmt"
	"io"
	"net/http"
	"net/http/pprof"
)

// adminHandler is the relay's admin address: net/http/pprof and the
// runtime's statistics (expvar), as spartan-server serves on its own, so
// that the bench reads both the same way.
func adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.Handle("/debug/vars", expvar.Handler())
	return mux
}

// liveMemory is what a Go process (at its admin URL) holds live: its heap
// in use and its goroutine stacks, in bytes, after a garbage collection
// that it is asked to run first (pprof's heap profile with gc=1).
func liveMemory(ctx context.Context, admin string) (uint64, error) {
	get := func(path string) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, admin+path, http.NoBody)
		if err != nil {
			return nil, err
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		if res.StatusCode != http.StatusOK {
			_ = res.Body.Close()
			return nil, fmt.Errorf("GET %s%s: %s", admin, path, res.Status)
		}
		return res, nil
	}
	res, err := get("/debug/pprof/heap?gc=1")
	if err != nil {
		return 0, fmt.Errorf("live memory: %w", err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	_ = res.Body.Close()
	if res, err = get("/debug/vars"); err != nil {
		return 0, fmt.Errorf("live memory: %w", err)
	}
	defer func() { _ = res.Body.Close() }()
	var vars struct {
		Memstats struct {
			HeapInuse  uint64 `json:"HeapInuse"`
			StackInuse uint64 `json:"StackInuse"`
		} `json:"memstats"`
	}
	if err := json.NewDecoder(res.Body).Decode(&vars); err != nil {
		return 0, fmt.Errorf("live memory: %s/debug/vars: %w", admin, err)
	}
	return vars.Memstats.HeapInuse + vars.Memstats.StackInuse, nil
}

// liveMemoryAll sums liveMemory over the system's Go processes (those with
// an admin URL); false when it has none.
func (s *system) liveMemory(ctx context.Context) (uint64, bool, error) {
	var sum uint64
	var any bool
	for _, p := range s.procs {
		if p.admin == "" {
			continue
		}
		n, err := liveMemory(ctx, p.admin)
		if err != nil {
			return 0, false, fmt.Errorf("%s: %w", p.name, err)
		}
		sum += n
		any = true
	}
	return sum, any, nil
}
