package chat

import "context"

// Presence tracks which users have a stream open, so that the others can be
// told who will see a message at once and who will find it later. Like the
// Broker it carries no messages: a change is a nudge to look again, so a
// merged nudge costs nothing. A process keeps its own counts today; a cluster
// shares them through the same interface.
type Presence interface {
	// Connect counts one more open stream of user until the returned function
	// is called (once; later calls do nothing).
	Connect(ctx context.Context, user string) (disconnect func(), err error)
	// Online reports which of users have a stream open.
	Online(ctx context.Context, users []string) (map[string]bool, error)
	// Watch follows changes until the watch is closed.
	Watch(ctx context.Context) (PresenceWatch, error)
}

// PresenceWatch is one follower of presence changes.
type PresenceWatch interface {
	// C receives a value after some users came online or went offline.
	C() <-chan struct{}
	// Changed returns the users whose presence changed since the last call,
	// and forgets them. Their state now is what Presence.Online says.
	Changed() []string
	// Close ends the watch.
	Close()
}
