// Package procstat reads what Linux's /proc says about a process: the CPU
// time it has used (/proc/PID/stat), its read and write system calls
// (/proc/PID/io) and its resident memory (/proc/PID/status). Load tools
// measure a server from the outside with it, so that what they measure
// is the server process and nothing of the driver's.
package procstat

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Sample is one reading of a process's counters.
type Sample struct {
	// CPU is user plus system time, in seconds.
	CPU float64
	// SyscR and SyscW are the read and write system calls it has made
	// (read, readv, recvmsg...; write, writev, sendmsg...).
	SyscR, SyscW uint64
	// RSS is its resident memory, in bytes.
	RSS uint64
}

// Sub is s less before, counter by counter (RSS is s's own).
func (s Sample) Sub(before Sample) Sample {
	return Sample{CPU: s.CPU - before.CPU, SyscR: s.SyscR - before.SyscR, SyscW: s.SyscW - before.SyscW, RSS: s.RSS}
}

// Add is the counters of s and o summed (RSS too).
func (s Sample) Add(o Sample) Sample {
	return Sample{CPU: s.CPU + o.CPU, SyscR: s.SyscR + o.SyscR, SyscW: s.SyscW + o.SyscW, RSS: s.RSS + o.RSS}
}

// Reader reads samples, in clock ticks of Hz a second.
type Reader struct {
	// Hz is the unit of /proc/PID/stat's times (sysconf(_SC_CLK_TCK)).
	Hz int
	// Root is where proc is mounted ("/proc" when empty).
	Root string
}

// NewReader returns a Reader with this machine's clock tick.
func NewReader() Reader {
	hz, _ := ClockTicks()
	return Reader{Hz: hz}
}

// root is where proc is mounted.
func (r Reader) root() string {
	if r.Root == "" {
		return "/proc"
	}
	return r.Root
}

func (r Reader) path(pid int, name string) string {
	return r.root() + "/" + strconv.Itoa(pid) + "/" + name
}

// CPU reads the user plus system time of process pid, in seconds.
func (r Reader) CPU(pid int) (float64, error) {
	raw, err := os.ReadFile(r.path(pid, "stat"))
	if err != nil {
		return 0, fmt.Errorf("CPU time of process %d: %w", pid, err)
	}
	ticks, err := ParseStatTicks(raw)
	if err != nil {
		return 0, fmt.Errorf("process %d: %w", pid, err)
	}
	return float64(ticks) / float64(max(r.Hz, 1)), nil
}

// Read reads every counter of process pid.
func (r Reader) Read(pid int) (Sample, error) {
	var s Sample
	cpu, err := r.CPU(pid)
	if err != nil {
		return s, err
	}
	s.CPU = cpu
	raw, err := os.ReadFile(r.path(pid, "io"))
	if err != nil {
		return s, fmt.Errorf("system calls of process %d: %w", pid, err)
	}
	if s.SyscR, s.SyscW, err = ParseIO(raw); err != nil {
		return s, fmt.Errorf("process %d: %w", pid, err)
	}
	if raw, err = os.ReadFile(r.path(pid, "status")); err != nil {
		return s, fmt.Errorf("memory of process %d: %w", pid, err)
	}
	if s.RSS, err = ParseRSS(raw); err != nil {
		return s, fmt.Errorf("process %d: %w", pid, err)
	}
	return s, nil
}

// ReadAll sums the samples of pids.
func (r Reader) ReadAll(pids []int) (Sample, error) {
	var sum Sample
	for _, pid := range pids {
		s, err := r.Read(pid)
		if err != nil {
			return Sample{}, err
		}
		sum = sum.Add(s)
	}
	return sum, nil
}

// ParseStatTicks returns utime+stime, fields 14 and 15 of a /proc/PID/stat,
// in clock ticks. The command name, field 2, is in parentheses and may hold
// spaces and parentheses: fields are counted after the last ')'.
func ParseStatTicks(raw []byte) (int64, error) {
	i := bytes.LastIndexByte(raw, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/PID/stat without a command name: %q", raw)
	}
	fields := strings.Fields(string(raw[i+1:])) // from field 3, state
	if len(fields) < 13 {
		return 0, fmt.Errorf("/proc/PID/stat has %d fields after the name, want at least 13: %q", len(fields), raw)
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/PID/stat: CPU time %q: %w", f, err)
		}
		ticks += n
	}
	return ticks, nil
}

// ParseIO returns syscr and syscw of a /proc/PID/io.
func ParseIO(raw []byte) (syscr, syscw uint64, err error) {
	var haveR, haveW bool
	for line := range strings.Lines(string(raw)) {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			continue
		}
		var dst *uint64
		switch k {
		case "syscr":
			dst, haveR = &syscr, true
		case "syscw":
			dst, haveW = &syscw, true
		default:
			continue
		}
		n, perr := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		if perr != nil {
			return 0, 0, fmt.Errorf("/proc/PID/io: %s %q: %w", k, v, perr)
		}
		*dst = n
	}
	if !haveR || !haveW {
		return 0, 0, errors.New("/proc/PID/io has no syscr or syscw line")
	}
	return syscr, syscw, nil
}

// ParseRSS returns VmRSS of a /proc/PID/status, in bytes.
func ParseRSS(raw []byte) (uint64, error) {
	for line := range strings.Lines(string(raw)) {
		v, ok := strings.CutPrefix(line, "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("/proc/PID/status: VmRSS %q is not in kB", strings.TrimSpace(v))
		}
		n, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/PID/status: VmRSS %q: %w", f[0], err)
		}
		return n << 10, nil
	}
	return 0, errors.New("/proc/PID/status has no VmRSS line")
}

// ClockTicks is sysconf(_SC_CLK_TCK), the unit of /proc/PID/stat's times,
// which the kernel passes every process as AT_CLKTCK in its auxiliary
// vector; 100 (and false) if that cannot be read.
func ClockTicks() (int, bool) {
	raw, err := os.ReadFile("/proc/self/auxv")
	if err != nil {
		return 100, false
	}
	return ParseAuxvClockTicks(raw)
}

// ParseAuxvClockTicks finds AT_CLKTCK in an auxiliary vector of 64-bit
// words; 100 (and false) when it is not there.
func ParseAuxvClockTicks(raw []byte) (int, bool) {
	const atClkTck = 17
	for i := 0; i+16 <= len(raw); i += 16 { // pairs of 64-bit words
		key, val := binary.NativeEndian.Uint64(raw[i:]), binary.NativeEndian.Uint64(raw[i+8:])
		if key == atClkTck && val > 0 {
			return int(val), true
		}
	}
	return 100, false
}

// MachineBusy is the time all CPUs of the machine have been busy, in
// seconds, from /proc/stat.
func (r Reader) MachineBusy() (float64, error) {
	raw, err := os.ReadFile(r.root() + "/stat")
	if err != nil {
		return 0, fmt.Errorf("busy CPU time: %w", err)
	}
	ticks, err := ParseMachineBusy(raw)
	if err != nil {
		return 0, err
	}
	return float64(ticks) / float64(max(r.Hz, 1)), nil
}

// ParseMachineBusy returns the busy ticks of /proc/stat's first line, the
// sum over all CPUs: user, nice, system, irq, softirq and steal (idle and
// iowait left out; guest time is inside user already).
func ParseMachineBusy(raw []byte) (int64, error) {
	line, _, _ := strings.Cut(string(raw), "\n")
	fields := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	if len(fields) < 9 || fields[0] != "cpu" {
		return 0, fmt.Errorf("/proc/stat starts %q, not with the cpu line", line)
	}
	var busy int64
	for i, f := range fields[1:9] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/stat: %q: %w", line, err)
		}
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, nil
}
