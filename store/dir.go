package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"

	"github.com/edgeflag/edgeflag/store/layout"
)

// lockName is the directory store's lock file, taken for every write.
const lockName = ".edgeflag.lock"

// Dir is a store in a local directory: each key is a file under the root. Writes go to a
// temporary file that is renamed into place, so readers see the old object or the new
// one, never a torn one. Conditional writes compare ETags computed from content (the
// hex SHA-256 of the bytes, truncated to 128 bits, in quotes like S3's) under an
// exclusive lock on the root's lock file, so they are atomic across goroutines and
// processes.
type Dir struct {
	root string
	mu   sync.Mutex // serialises this process's writers before they take the file lock
}

// NewDir returns the directory store rooted at root, creating the directory if needed.
func NewDir(root string) (*Dir, error) {
	if root == "" {
		return nil, errors.New("store: empty directory path")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("store: directory %s: %w", root, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("store: create directory: %w", err)
	}
	return &Dir{root: abs}, nil
}

// Root returns the store's absolute directory.
func (d *Dir) Root() string { return d.root }

// String returns the directory.
func (d *Dir) String() string { return d.root }

// ETagOf is the directory store's ETag of data.
func ETagOf(data []byte) string {
	sum := sha256.Sum256(data)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}

func (d *Dir) path(key string) (string, error) {
	if err := ValidateKey(key); err != nil {
		return "", err
	}
	return filepath.Join(d.root, filepath.FromSlash(key)), nil
}

// Get reads the object under key.
func (d *Dir) Get(ctx context.Context, key string, opts GetOptions) (*Object, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p, err := d.path(key)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) || isDirError(p) {
			return nil, fmt.Errorf("%s: %w", key, ErrNotFound)
		}
		return nil, fmt.Errorf("store: read %s: %w", key, err)
	}
	etag := ETagOf(data)
	if sameETag(opts.IfNoneMatch, etag) {
		return nil, fmt.Errorf("%s: %w", key, ErrNotModified)
	}
	ct, cc := layout.HeadersFor(key)
	return &Object{Key: key, Data: data, ETag: etag, ContentType: ct, CacheControl: cc}, nil
}

func isDirError(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// Put writes the object under key, atomically with respect to its condition.
func (d *Dir) Put(ctx context.Context, key string, data []byte, opts PutOptions) (string, error) {
	if err := opts.check(); err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	p, err := d.path(key)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return "", fmt.Errorf("store: create directory for %s: %w", key, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	unlock, err := lockFile(filepath.Join(d.root, lockName))
	if err != nil {
		return "", fmt.Errorf("store: lock %s: %w", d.root, err)
	}
	defer unlock()

	if opts.IfMatch != "" || opts.IfAbsent {
		current, err := os.ReadFile(p)
		exists := err == nil
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("store: read %s: %w", key, err)
		}
		switch {
		case opts.IfAbsent && exists:
			return "", fmt.Errorf("%s exists: %w", key, ErrPreconditionFailed)
		case opts.IfMatch != "" && !exists:
			return "", fmt.Errorf("%s does not exist: %w", key, ErrPreconditionFailed)
		case opts.IfMatch != "" && !sameETag(opts.IfMatch, ETagOf(current)):
			return "", fmt.Errorf("%s has another ETag: %w", key, ErrPreconditionFailed)
		}
	}
	if err := writeAtomic(p, data); err != nil {
		return "", fmt.Errorf("store: write %s: %w", key, err)
	}
	return ETagOf(data), nil
}

// writeAtomic writes data to a temporary file beside p, syncs it and renames it over p.
func writeAtomic(p string, data []byte) error {
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	tmp := filepath.Join(filepath.Dir(p), ".tmp-"+hex.EncodeToString(rnd[:]))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, werr := f.Write(data)
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp, p)
	}
	if werr != nil {
		_ = os.Remove(tmp)
	}
	return werr
}

// List returns the keys under prefix, sorted. The store's own files (names starting
// with '.') are not keys.
func (d *Dir) List(ctx context.Context, prefix string) ([]string, error) {
	if strings.Contains(prefix, "\\") || strings.Contains(prefix, "..") {
		return nil, &KeyError{Key: prefix, Reason: "invalid prefix"}
	}
	// Walk only the deepest directory the prefix names.
	start := d.root
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		start = filepath.Join(d.root, filepath.FromSlash(prefix[:i]))
	}
	var keys []string
	err := filepath.WalkDir(start, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		if strings.HasPrefix(e.Name(), ".") && p != start {
			if e.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if e.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(d.root, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if strings.HasPrefix(key, prefix) {
			keys = append(keys, key)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: list %s: %w", prefix, err)
	}
	sort.Strings(keys)
	return keys, nil
}
