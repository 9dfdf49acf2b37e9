package procstat_test

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/spartan-messenger/spartan/internal/procstat"
)

// parseCase is a case of a parser of a /proc file that yields a count.
type parseCase struct {
	name    string
	raw     string
	want    int64
	wantErr bool
}

// runParseCases checks parse (what names what it counts) against each case.
func runParseCases(t *testing.T, what string, parse func([]byte) (int64, error), tests []parseCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parse([]byte(tt.raw))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("%s = %d, want %d", what, got, tt.want)
			}
		})
	}
}

func TestParseStatTicks(t *testing.T) {
	t.Parallel()
	runParseCases(t, "ticks", procstat.ParseStatTicks, []parseCase{
		{"plain", "42 (spartan-server) S 1 42 42 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 9 0 100 0 0", 325, false},
		{"name with spaces and parentheses", "7 (a (b) c) R 1 7 7 0 -1 0 0 0 0 0 3 4 0 0 20 0 1 0 1 0 0", 7, false},
		{"no name", "7 R 1 2 3", 0, true},
		{"too short", "7 (x) R 1 2 3", 0, true},
		{"not a number", "7 (x) S 1 7 7 0 -1 0 0 0 0 0 a 4 0", 0, true},
	})
}

func TestParseIO(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		raw        string
		r, w       uint64
		wantErrors bool
	}{
		{"full", "rchar: 100\nwchar: 200\nsyscr: 31\nsyscw: 17\nread_bytes: 0\nwrite_bytes: 4096\ncancelled_write_bytes: 0\n", 31, 17, false},
		{"missing syscw", "syscr: 31\n", 0, 0, true},
		{"bad number", "syscr: x\nsyscw: 1\n", 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, w, err := procstat.ParseIO([]byte(tt.raw))
			if (err != nil) != tt.wantErrors {
				t.Fatalf("err = %v, want error %v", err, tt.wantErrors)
			}
			if r != tt.r || w != tt.w {
				t.Errorf("syscr, syscw = %d, %d, want %d, %d", r, w, tt.r, tt.w)
			}
		})
	}
}

func TestParseRSS(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		raw     string
		want    uint64
		wantErr bool
	}{
		{"kB", "Name:\tx\nVmPeak:\t  9000 kB\nVmRSS:\t   1234 kB\nThreads: 3\n", 1234 << 10, false},
		{"missing", "Name:\tx\n", 0, true},
		{"other unit", "VmRSS:\t 12 MB\n", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := procstat.ParseRSS([]byte(tt.raw))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("RSS = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestParseAuxvClockTicks(t *testing.T) {
	t.Parallel()
	words := func(ws ...uint64) []byte {
		b := make([]byte, 0, 8*len(ws))
		for _, w := range ws {
			b = binary.NativeEndian.AppendUint64(b, w)
		}
		return b
	}
	if hz, ok := procstat.ParseAuxvClockTicks(words(6, 4096, 17, 250, 0, 0)); hz != 250 || !ok {
		t.Errorf("got %d, %v; want 250, true", hz, ok)
	}
	if hz, ok := procstat.ParseAuxvClockTicks(words(6, 4096, 0, 0)); hz != 100 || ok {
		t.Errorf("without AT_CLKTCK: got %d, %v; want 100, false", hz, ok)
	}
}

// TestReaderFromFiles reads a fake /proc tree.
func TestReaderFromFiles(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	write := func(pid int, name, text string) {
		dir := filepath.Join(root, strconv.Itoa(pid))
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, pid := range []int{10, 11} {
		write(pid, "stat", "1 (x) S 1 1 1 0 -1 0 0 0 0 0 150 50 0 0 20 0 1 0 1 0 0")
		write(pid, "io", "syscr: 5\nsyscw: 3\n")
		write(pid, "status", "VmRSS:\t2048 kB\n")
	}
	r := procstat.Reader{Hz: 100, Root: root}
	got, err := r.ReadAll([]int{10, 11})
	if err != nil {
		t.Fatal(err)
	}
	want := procstat.Sample{CPU: 4, SyscR: 10, SyscW: 6, RSS: 4 << 20}
	if got != want {
		t.Errorf("ReadAll = %+v, want %+v", got, want)
	}
	if d := got.Sub(procstat.Sample{CPU: 1, SyscR: 4, SyscW: 1, RSS: 1}); d != (procstat.Sample{CPU: 3, SyscR: 6, SyscW: 5, RSS: 4 << 20}) {
		t.Errorf("Sub = %+v", d)
	}
	if _, err := r.Read(99); err == nil {
		t.Error("Read of a missing process: no error")
	}
}

// TestReadSelf reads this process: the counters exist and move forward.
func TestReadSelf(t *testing.T) {
	t.Parallel()
	r := procstat.NewReader()
	s, err := r.Read(os.Getpid())
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	if s.RSS == 0 || s.SyscR == 0 {
		t.Errorf("sample of this process: %+v", s)
	}
}

func TestParseMachineBusy(t *testing.T) {
	t.Parallel()
	runParseCases(t, "busy", procstat.ParseMachineBusy, []parseCase{
		{"two CPUs", "cpu  100 5 50 1000 20 3 2 1 0 0\ncpu0 50 2 25 500 10 1 1 0 0 0\n", 161, false},
		{"not the cpu line", "intr 1 2 3 4 5 6 7 8 9\n", 0, true},
		{"too short", "cpu 1 2 3\n", 0, true},
		{"not a number", "cpu 1 2 x 4 5 6 7 8\n", 0, true},
	})
}
