// Package bench is spartan-bench's load driver and report (issue 20): it
// starts spartan-server binaries (or targets a running one), a bare relay
// of the same proto on connect-go and on grpc-go as the baseline of the
// same run, drives them with one-on-one pairs, a group and idle receivers,
// and measures from the outside: delivered messages a second, send to
// receive latency, the servers' CPU time and system calls from /proc, and
// memory per idle stream. The figures go out as a Markdown table, as JSON,
// and as an SVG plot of latency against offered load.
package bench
