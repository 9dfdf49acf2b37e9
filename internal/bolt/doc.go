// Package bolt implements the chat core's Store on go.etcd.io/bbolt, an
// embedded B+tree in one file: the durable single-node default. Every Update
// is on disk (fsynced) before it returns; concurrent Updates share one commit
// through bbolt's DB.Batch, so one fsync serves many writers.
//
// Layout: the bucket "kv" holds the core's records; the bucket "logs" holds
// one nested bucket per log, whose keys are the events' sequence numbers as
// 8-byte big-endian integers, so that reading after or before a sequence
// number is one cursor seek. Values are events in a compact binary encoding
// (see codec.go).
package bolt
