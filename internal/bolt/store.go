package bolt

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync/atomic"
	"time"

	"go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/spartan-messenger/spartan/internal/chat"
)

// Bucket names at the root of the file.
var (
	metaBucket = []byte("meta")
	kvBucket   = []byte("kv")
	logsBucket = []byte("logs")
	// formatKey in metaBucket holds the layout's version.
	formatKey = []byte("format")
)

// format is the layout version this package reads and writes.
const format = "spartan-bolt-1"

// Options tune a Store; zero fields take the defaults.
type Options struct {
	// LockTimeout is how long Open waits for a file another process has
	// open before giving up (default 1s).
	LockTimeout time.Duration
	// MaxBatchDelay is how long an Update waits for others to share its
	// commit and fsync (default 1ms; bbolt's own default is 10ms).
	MaxBatchDelay time.Duration
	// MaxBatchSize is how many Updates at most share one commit (default 1000).
	MaxBatchSize int
}

// Store is a chat.Store in a bbolt file. It is safe for concurrent use.
type Store struct {
	db   *bbolt.DB
	path string
	// updating counts the Updates in progress.
	updating atomic.Int64
}

var _ chat.Store = (*Store)(nil)

// Open opens the store in the file at path, creating the file and its
// directory if they do not exist. A file that is not a readable Spartan store
// is an error naming it; Open never writes to such a file. A file another
// process has open is an error after opts.LockTimeout.
func Open(path string, opts Options) (*Store, error) {
	if path == "" {
		return nil, errors.New("open store: no file path given")
	}
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = time.Second
	}
	if opts.MaxBatchDelay <= 0 {
		opts.MaxBatchDelay = time.Millisecond
	}
	if opts.MaxBatchSize <= 0 {
		opts.MaxBatchSize = 1000
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("open store %s: create its directory: %w", path, err)
	}
	info, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("open store %s: %w", path, err)
	case !info.Mode().IsRegular():
		return nil, fmt.Errorf("open store %s: not a regular file", path)
	case info.Size() > 0:
		// Look before writing: bbolt may write to a file it opens for
		// writing (to initialise or repair its free list), which must never
		// happen to a file that is not ours or is damaged.
		if err := verify(path, opts.LockTimeout); err != nil {
			return nil, err
		}
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: opts.LockTimeout})
	if err != nil {
		return nil, openError(path, err)
	}
	db.MaxBatchDelay = opts.MaxBatchDelay
	db.MaxBatchSize = opts.MaxBatchSize
	err = db.Update(func(tx *bbolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(metaBucket)
		if err != nil {
			return err
		}
		if meta.Get(formatKey) == nil {
			if err := meta.Put(formatKey, []byte(format)); err != nil {
				return err
			}
		}
		if _, err := tx.CreateBucketIfNotExists(kvBucket); err != nil {
			return err
		}
		_, err = tx.CreateBucketIfNotExists(logsBucket)
		return err
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open store %s: initialise: %w", path, err)
	}
	return &Store{db: db, path: path}, nil
}

// verify opens the existing file at path read-only and checks that it is a
// Spartan store that bbolt can read.
func verify(path string, timeout time.Duration) error {
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: timeout, ReadOnly: true})
	if err != nil {
		return openError(path, err)
	}
	defer func() { _ = db.Close() }()
	size := int64(0)
	if info, err := os.Stat(path); err == nil {
		size = info.Size()
	}
	if err := checkLayout(db, size); err != nil {
		return fmt.Errorf("open store %s: the file is damaged or is not a Spartan store (%w); it was left untouched: restore it from a backup or move it away", path, err)
	}
	return nil
}

// checkLayout reads the root of the file: it must be empty (a file bbolt
// initialised and nothing else) or hold this package's buckets and format.
// A fault while reading a damaged file becomes an error, not a crash.
func checkLayout(db *bbolt.DB, fileSize int64) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("reading it failed: %v", r)
		}
	}()
	return db.View(func(tx *bbolt.Tx) error {
		if tx.Size() > fileSize {
			return fmt.Errorf("it is %d bytes but its index needs %d: it was truncated", fileSize, tx.Size())
		}
		empty := true
		if err := tx.ForEach(func(name []byte, _ *bbolt.Bucket) error {
			empty = false
			switch string(name) {
			case string(metaBucket), string(kvBucket), string(logsBucket):
				return nil
			}
			return fmt.Errorf("unexpected bucket %q", name)
		}); err != nil {
			return err
		}
		if empty {
			return nil
		}
		meta := tx.Bucket(metaBucket)
		if meta == nil {
			return errors.New("no format record")
		}
		if got := string(meta.Get(formatKey)); got != format {
			return fmt.Errorf("format %q, want %q", got, format)
		}
		return nil
	})
}

// openError turns bbolt's open errors into sentences that name the file.
func openError(path string, err error) error {
	switch {
	case errors.Is(err, bolterrors.ErrTimeout):
		return fmt.Errorf("open store %s: the file is in use by another process (is another spartan-server running on it?): %w", path, err)
	case errors.Is(err, bolterrors.ErrInvalid), errors.Is(err, bolterrors.ErrChecksum), errors.Is(err, bolterrors.ErrVersionMismatch):
		return fmt.Errorf("open store %s: the file is damaged or is not a bbolt database (%w); it was left untouched: restore it from a backup or move it away", path, err)
	}
	return fmt.Errorf("open store %s: %w", path, err)
}

// Path is the file the store is in.
func (s *Store) Path() string { return s.path }

// Close closes the file; it waits for running transactions.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close store %s: %w", s.path, err)
	}
	return nil
}

// Update runs fn in a read-write transaction that it commits, durably, if fn
// returns nil. Concurrent Updates share one commit (bbolt's DB.Batch, which
// may run fn more than once, as chat.Store allows); an Update that finds no
// other in progress commits at once rather than wait MaxBatchDelay for
// company.
func (s *Store) Update(ctx context.Context, fn func(tx chat.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	run := func(btx *bbolt.Tx) error { return fn(&tx{btx: btx}) }
	defer s.updating.Add(-1)
	if s.updating.Add(1) == 1 {
		return s.db.Update(run)
	}
	return s.db.Batch(run)
}

// View runs fn in a read-only transaction, which sees one consistent state
// and does not wait for writers.
func (s *Store) View(ctx context.Context, fn func(tx chat.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.View(func(btx *bbolt.Tx) error {
		return fn(&tx{btx: btx})
	})
}
