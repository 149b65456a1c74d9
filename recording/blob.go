// Package recording keeps the recordings of mediation sessions as evidence: a small blob
// store (PostgreSQL large objects by default, a directory as an option), the recorder that
// the media plane feeds with what it forwards (per-track WebM files, written off the packet
// path), and the verification of stored files against the hashes kept in a case's trail.
//
// It imports none of Parley's other packages: the media plane calls it through an
// interface of its own (sfu.Tap), and cmd/parley passes the case system in through Trail.
package recording

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
)

// Errors a Store returns (wrapped).
var (
	// ErrNotFound: no blob under that reference.
	ErrNotFound = errors.New("recording: blob not found")
	// ErrBadRef: the reference is not one this store issues.
	ErrBadRef = errors.New("recording: malformed blob reference")
	// ErrLowSpace: the store has less free space than the configured floor.
	ErrLowSpace = errors.New("recording: not enough free space in the store")
)

// Blob describes a stored file.
type Blob struct {
	Ref    string `json:"ref"` // "pg:<oid>" or "dir:<name>"
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"` // hex
}

// Store keeps blobs. Implementations are safe for concurrent use.
type Store interface {
	// Put stores everything r yields and returns its reference, size and SHA-256.
	Put(ctx context.Context, r io.Reader) (Blob, error)
	// Open returns a reader of a stored blob; the caller closes it. It holds resources
	// (a database connection for PGStore) until closed.
	Open(ctx context.Context, ref string) (Reader, error)
	// Delete removes a blob (retention); deleting a missing blob is not an error.
	Delete(ctx context.Context, ref string) error
	// Free returns the free space of the store in bytes, or -1 when it cannot tell.
	Free(ctx context.Context) (int64, error)
}

// Reader reads one blob; it seeks, so http.ServeContent answers range requests from it.
type Reader interface {
	io.ReadSeekCloser
	Size() int64
}

// CheckFloor returns ErrLowSpace (wrapped, with the figures) when s has less than floor
// bytes free. A store that cannot tell its free space passes.
func CheckFloor(ctx context.Context, s Store, floor int64) error {
	if floor <= 0 {
		return nil
	}
	free, err := s.Free(ctx)
	if err != nil {
		return fmt.Errorf("recording: free space: %w", err)
	}
	if free >= 0 && free < floor {
		return fmt.Errorf("%w: %d MiB free, floor %d MiB", ErrLowSpace, free>>20, floor>>20)
	}
	return nil
}

// hashingReader counts and hashes what passes through it.
type hashingReader struct {
	r io.Reader
	h hash.Hash
	n int64
}

func newHashingReader(r io.Reader) *hashingReader { return &hashingReader{r: r, h: sha256.New()} }

func (h *hashingReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.h.Write(p[:n])
	h.n += int64(n)
	return n, err
}

func (h *hashingReader) sum() string { return hex.EncodeToString(h.h.Sum(nil)) }

// HashBlob reads a stored blob through and returns its size and SHA-256 (hex).
func HashBlob(ctx context.Context, s Store, ref string) (int64, string, error) {
	r, err := s.Open(ctx, ref)
	if err != nil {
		return 0, "", err
	}
	defer r.Close()
	h := newHashingReader(r)
	if _, err := io.Copy(io.Discard, h); err != nil {
		return 0, "", fmt.Errorf("recording: read %s: %w", ref, err)
	}
	return h.n, h.sum(), nil
}
