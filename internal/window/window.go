// Package window is a slice that grows at its end and is cut at its front,
// as a log kept to its newest entries is: when the end of its array is
// reached, what is left moves back to the start of that array instead of
// into a new one, so a window that keeps its size allocates nothing.
package window

// Window is the live items, a window on an array. The zero Window is empty.
type Window[T any] struct {
	arr  []T // the array, from its start, with length 0
	live []T // the items: a window at the end of arr's capacity
}

// Items returns the items, oldest first. The slice is the window's own:
// valid until the next Append or DropFront.
func (w *Window[T]) Items() []T { return w.live }

// Len is the number of items.
func (w *Window[T]) Len() int { return len(w.live) }

// Append adds items at the end, in the array the window has when they fit.
func (w *Window[T]) Append(items ...T) {
	n, need := len(w.live), len(w.live)+len(items)
	if need > cap(w.arr) {
		w.live = append(w.live, items...) // a new array, the window at its start
		w.arr = w.live[:0]
		return
	}
	if off := cap(w.arr) - cap(w.live); off+need > cap(w.arr) {
		// No room after the window, room before it: move it back.
		copy(w.arr[:n], w.live)
		clear(w.arr[n : off+n]) // what is left of the old window
		w.live = w.arr[:n]
	}
	w.live = append(w.live, items...)
}

// DropFront removes the n oldest items (all of them if there are fewer)
// and lets go of what they refer to; an emptied window lets go of its
// array, and one that holds a small part of a large array moves to a
// smaller one.
func (w *Window[T]) DropFront(n int) {
	n = min(n, len(w.live))
	clear(w.live[:n])
	w.live = w.live[n:]
	switch {
	case len(w.live) == 0:
		w.arr, w.live = nil, nil
	case cap(w.arr) > 4*len(w.live)+64:
		w.live = append(make([]T, 0, 2*len(w.live)), w.live...)
		w.arr = w.live[:0]
	}
}
