// Package store holds edgeflag's published objects: snapshots, the pointer that names the
// snapshot an environment serves, kill state and audit records. Two backends implement
// one small interface: a local directory (the embedded default, no AWS needed) and an S3
// bucket with a prefix (aws-sdk-go-v2). Both keep the same objects under the same keys,
// with the Content-Type and Cache-Control of layout.HeadersFor, and both do conditional writes
// (compare-and-swap on ETags), so the concurrency guarantees of publishing and of the
// kill switch hold on a laptop as they do in AWS.
//
// docs/store-layout.md describes the keys.
package store

import (
	"context"
	"errors"
	"strings"
)

// Errors shared by all backends. Test with errors.Is.
var (
	// ErrNotFound: the object does not exist.
	ErrNotFound = errors.New("object not found")
	// ErrNotModified: a conditional read found the object unchanged (its ETag is the one
	// given in GetOptions.IfNoneMatch).
	ErrNotModified = errors.New("object not modified")
	// ErrPreconditionFailed: a conditional write lost: the object's ETag was not the one
	// given in PutOptions.IfMatch, or the object existed despite PutOptions.IfAbsent.
	// The writer re-reads and retries.
	ErrPreconditionFailed = errors.New("precondition failed: the object changed")
	// ErrNoCredentials: Open found no AWS credentials for an s3:// location.
	ErrNoCredentials = errors.New("no AWS credentials")
)

// Store is where published objects live. Implementations are safe for concurrent use by
// multiple goroutines and, for the directory store, by multiple processes.
type Store interface {
	// Get reads an object. It returns ErrNotFound when there is none, and ErrNotModified
	// when opts.IfNoneMatch is the object's current ETag.
	Get(ctx context.Context, key string, opts GetOptions) (*Object, error)
	// Put writes an object whole and returns its new ETag. With opts.IfMatch or
	// opts.IfAbsent set, the check and the write are one atomic step; a failed check
	// returns ErrPreconditionFailed and writes nothing.
	Put(ctx context.Context, key string, data []byte, opts PutOptions) (etag string, err error)
	// List returns the keys that start with prefix, sorted.
	List(ctx context.Context, prefix string) ([]string, error)
	// String names the store for messages: the directory, or s3://bucket/prefix.
	String() string
}

// Object is one stored object.
type Object struct {
	Key  string
	Data []byte
	// ETag identifies the content: any change to the bytes changes it. Compare ETags only
	// with ETags of the same store.
	ETag         string
	ContentType  string
	CacheControl string
}

// GetOptions makes a read conditional.
type GetOptions struct {
	// IfNoneMatch, when set, returns ErrNotModified instead of the object if its ETag is
	// this one (HTTP If-None-Match).
	IfNoneMatch string
}

// PutOptions makes a write conditional. Set at most one of IfMatch and IfAbsent.
type PutOptions struct {
	// IfMatch writes only if the object exists with this ETag (HTTP If-Match).
	IfMatch string
	// IfAbsent writes only if there is no object under the key (HTTP If-None-Match: *).
	IfAbsent bool
}

func (o PutOptions) check() error {
	if o.IfMatch != "" && o.IfAbsent {
		return errors.New("store: PutOptions sets both IfMatch and IfAbsent")
	}
	return nil
}

// MaxKeyLength is the longest key a store accepts (S3's limit).
const MaxKeyLength = 1024

// ValidateKey checks that key is a relative slash-separated path both backends can hold:
// not empty, at most MaxKeyLength bytes, no empty, "." or ".." segment, no segment
// starting with "." (reserved for the directory store's own files), and no backslash or
// control character.
func ValidateKey(key string) error {
	if key == "" {
		return &KeyError{Key: key, Reason: "empty key"}
	}
	if len(key) > MaxKeyLength {
		return &KeyError{Key: key[:32] + "...", Reason: "longer than 1024 bytes"}
	}
	for _, r := range key {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return &KeyError{Key: key, Reason: "contains a backslash or control character"}
		}
	}
	for seg := range strings.SplitSeq(key, "/") {
		switch {
		case seg == "":
			return &KeyError{Key: key, Reason: "empty path segment (leading, trailing or double slash)"}
		case strings.HasPrefix(seg, "."):
			return &KeyError{Key: key, Reason: "a path segment starts with '.'"}
		}
	}
	return nil
}

// KeyError reports a key that no store accepts.
type KeyError struct {
	Key    string
	Reason string
}

func (e *KeyError) Error() string { return "store: invalid key " + quote(e.Key) + ": " + e.Reason }

func quote(s string) string { return `"` + s + `"` }

// sameETag compares two ETags, ignoring the quotes and a weak-validator prefix.
func sameETag(a, b string) bool {
	return a != "" && b != "" && bareETag(a) == bareETag(b)
}

func bareETag(e string) string {
	e = strings.TrimPrefix(e, "W/")
	return strings.Trim(e, `"`)
}
