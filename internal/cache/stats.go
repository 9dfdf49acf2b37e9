package cache

// Stats are a Store's counters and current size.
type Stats struct {
	// Hits counts reads answered from the cache.
	Hits uint64
	// Misses counts reads answered by the wrapped store.
	Misses uint64
	// Evictions counts events dropped to respect MaxEntries and MaxBytes
	// (not those dropped to keep only the newest MessagesPerLog of a log).
	Evictions uint64
	// Logs is how many logs have a cached tail.
	Logs int
	// Entries is how many events are cached.
	Entries int
	// Bytes is the cached events' size, by chat.Event.Size.
	Bytes int64
}

// Stats returns the counters and the current size.
func (s *Store) Stats() Stats {
	s.mu.Lock()
	logs, entries, bytes := s.lru.Len(), s.entries, s.bytes
	s.mu.Unlock()
	return Stats{
		Hits:      s.hits.Load(),
		Misses:    s.misses.Load(),
		Evictions: s.evictions.Load(),
		Logs:      logs,
		Entries:   entries,
		Bytes:     bytes,
	}
}
