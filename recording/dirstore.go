package recording

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// DirStore keeps blobs as files in a directory (PARLEY_DATA_DIR/recordings). Files are
// written under a temporary name, synced and renamed, so a reader never sees half a file.
type DirStore struct {
	Dir string
}

const dirPrefix = "dir:"

// NewDirStore creates the directory if needed.
func NewDirStore(dir string) (*DirStore, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("recording: dir store: %w", err)
	}
	return &DirStore{Dir: dir}, nil
}

func (s *DirStore) path(ref string) (string, error) {
	name, ok := strings.CutPrefix(ref, dirPrefix)
	if !ok || len(name) != 32 || strings.Trim(name, "0123456789abcdef") != "" {
		return "", fmt.Errorf("%w: %q", ErrBadRef, ref)
	}
	return filepath.Join(s.Dir, name+".blob"), nil
}

// Put implements Store.
func (s *DirStore) Put(ctx context.Context, r io.Reader) (Blob, error) {
	b := make([]byte, 16)
	rand.Read(b)
	name := hex.EncodeToString(b)
	final := filepath.Join(s.Dir, name+".blob")
	f, err := os.CreateTemp(s.Dir, ".put-*")
	if err != nil {
		return Blob{}, fmt.Errorf("recording: dir put: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	h := newHashingReader(r)
	if _, err := io.Copy(f, &ctxReader{ctx, h}); err != nil {
		return Blob{}, fmt.Errorf("recording: dir put: %w", err)
	}
	if err := f.Sync(); err != nil {
		return Blob{}, fmt.Errorf("recording: dir put: %w", err)
	}
	if err := f.Close(); err != nil {
		return Blob{}, fmt.Errorf("recording: dir put: %w", err)
	}
	if err := os.Rename(f.Name(), final); err != nil {
		return Blob{}, fmt.Errorf("recording: dir put: %w", err)
	}
	return Blob{Ref: dirPrefix + name, Size: h.n, SHA256: h.sum()}, nil
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// Open implements Store.
func (s *DirStore) Open(ctx context.Context, ref string) (Reader, error) {
	p, err := s.path(ref)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, ref)
	}
	if err != nil {
		return nil, fmt.Errorf("recording: dir open: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("recording: dir open: %w", err)
	}
	return &fileReader{File: f, size: st.Size()}, nil
}

type fileReader struct {
	*os.File
	size int64
}

func (f *fileReader) Size() int64 { return f.size }

// Delete implements Store.
func (s *DirStore) Delete(ctx context.Context, ref string) error {
	p, err := s.path(ref)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("recording: dir delete: %w", err)
	}
	return nil
}

// Free implements Store: the space available to an unprivileged writer on the directory's
// file system.
func (s *DirStore) Free(ctx context.Context) (int64, error) {
	return dirFree(s.Dir)
}

func dirFree(dir string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, fmt.Errorf("recording: statfs %s: %w", dir, err)
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}
