// Package chat is Spartan Messenger's core: users, one-on-one conversations with
// their request/accept handshake, and per-user inboxes with gap-free sequence
// numbers. It knows nothing of Connect, HTTP or any database: storage and
// notification are the small Store and Broker interfaces, which adapters
// (package memory, later bolt and redis) implement.
package chat
