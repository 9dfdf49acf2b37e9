// Package memory implements the chat core's Store and Broker in process memory:
// the single-node defaults for tests and for a server that need not survive a
// restart.
package memory
