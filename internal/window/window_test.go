package window

import "testing"

// TestKeptToItsNewest: a window kept to its newest 100 items, one added and
// one dropped at a time, stays in one array, holds the right items and
// refers to no dropped one.
func TestKeptToItsNewest(t *testing.T) {
	t.Parallel()
	var w Window[*int]
	for i := range 100 {
		w.Append(&i)
	}
	arr := &w.arr[:1][0]
	for i := 100; i < 1000; i++ {
		w.Append(&i)
		w.DropFront(1)
		if got := &w.arr[:1][0]; got != arr {
			t.Fatalf("item %d: a new array (cap %d, %d items)", i, cap(w.arr), w.Len())
		}
	}
	items := w.Items()
	if len(items) != 100 || *items[0] != 900 || *items[99] != 999 {
		t.Fatalf("%d items, %d..%d", len(items), *items[0], *items[len(items)-1])
	}
	off := cap(w.arr) - cap(w.live)
	for i, p := range w.arr[:cap(w.arr)] {
		if (i < off || i >= off+w.Len()) && p != nil {
			t.Fatalf("slot %d outside the window still refers to item %d", i, *p)
		}
	}
}

// TestDropFront: dropping more than there is empties the window and lets
// go of its array; a window that shrank to a small part of its array
// moves to a smaller one; appends after either work.
func TestDropFront(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		add, drop  int
		wantLen    int
		wantNilArr bool
		maxCap     int
	}{
		{"all", 10, 20, 0, true, 0},
		{"most of a large one", 1000, 990, 10, false, 64 + 40},
		{"a few", 1000, 10, 990, false, 2048},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var w Window[int]
			for i := range tt.add {
				w.Append(i)
			}
			w.DropFront(tt.drop)
			if w.Len() != tt.wantLen || (w.arr == nil) != tt.wantNilArr || cap(w.arr) > tt.maxCap {
				t.Fatalf("%d items, array nil %v, cap %d", w.Len(), w.arr == nil, cap(w.arr))
			}
			if tt.wantLen > 0 && w.Items()[0] != tt.drop {
				t.Errorf("first item %d, want %d", w.Items()[0], tt.drop)
			}
			w.Append(-1)
			if items := w.Items(); items[len(items)-1] != -1 || len(items) != tt.wantLen+1 {
				t.Errorf("after an append: %d items, last %d", len(items), items[len(items)-1])
			}
		})
	}
}
