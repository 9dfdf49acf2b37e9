// Package api serves the chat core over Connect, gRPC and gRPC-Web: it turns
// protobuf requests into core calls and core errors into Connect codes, once,
// at this edge.
package api
