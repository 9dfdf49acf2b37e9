// Package cache keeps the newest events of each log in memory in front of any
// chat.Store: the brief's "LRU cache of recent messages". Store is a
// chat.Store decorator. Updates pass through to the wrapped store and, once
// committed, add what they appended to the cached tails; reads in View
// transactions are answered from a cached tail only when it covers the range
// asked for and ends exactly at the wrapped store's head, so the cache never
// answers with stale or partial data.
package cache
