package recording

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
)

const defaultTestURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// testPool connects to the test database (large objects are database-wide, so no schema
// of its own is needed: every test unlinks what it made).
func testPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	dsn := os.Getenv("PARLEY_TEST_DATABASE_URL")
	if dsn == "" {
		dsn = defaultTestURL
	}
	pool, err := pgxpool.New(context.Background(), dsn)
	if err != nil {
		t.Fatalf("pool: %v", err)
	}
	if err := pool.Ping(context.Background()); err != nil {
		t.Fatalf("ping %s: %v (is PostgreSQL running? make test starts it)", dsn, err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func stores(t *testing.T) map[string]Store {
	ds, err := NewDirStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return map[string]Store{"pg": &PGStore{Pool: testPool(t)}, "dir": ds}
}

func TestStores(t *testing.T) {
	ctx := context.Background()
	for name, s := range stores(t) {
		t.Run(name, func(t *testing.T) {
			data := make([]byte, 700<<10+123) // more than one copy buffer
			r := rand.New(rand.NewPCG(1, 2))
			for i := range data {
				data[i] = byte(r.Uint32())
			}
			sum := sha256.Sum256(data)
			b, err := s.Put(ctx, bytes.NewReader(data))
			if err != nil {
				t.Fatalf("put: %v", err)
			}
			t.Cleanup(func() { s.Delete(context.Background(), b.Ref) })
			if b.Size != int64(len(data)) || b.SHA256 != hex.EncodeToString(sum[:]) {
				t.Fatalf("put: got %d %s, want %d %x", b.Size, b.SHA256, len(data), sum)
			}
			rd, err := s.Open(ctx, b.Ref)
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			if rd.Size() != int64(len(data)) {
				t.Errorf("size: got %d, want %d", rd.Size(), len(data))
			}
			// Seek into the middle, as a range request does.
			if _, err := rd.Seek(500000, io.SeekStart); err != nil {
				t.Fatal(err)
			}
			part := make([]byte, 1000)
			if _, err := io.ReadFull(rd, part); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(part, data[500000:501000]) {
				t.Errorf("range read differs")
			}
			rd.Close()
			n, h, err := HashBlob(ctx, s, b.Ref)
			if err != nil || n != b.Size || h != b.SHA256 {
				t.Errorf("hash: got %d %s %v, want %d %s", n, h, err, b.Size, b.SHA256)
			}
			if err := s.Delete(ctx, b.Ref); err != nil {
				t.Fatalf("delete: %v", err)
			}
			if _, err := s.Open(ctx, b.Ref); !errors.Is(err, ErrNotFound) {
				t.Errorf("open after delete: got %v, want ErrNotFound", err)
			}
			if err := s.Delete(ctx, b.Ref); err != nil {
				t.Errorf("second delete: got %v, want nil", err)
			}
			for _, bad := range []string{"", "pg:", "pg:abc", "dir:../../etc/passwd", "dir:" + string(make([]byte, 32)), "x:1"} {
				if _, err := s.Open(ctx, bad); !errors.Is(err, ErrBadRef) {
					t.Errorf("open %q: got %v, want ErrBadRef", bad, err)
				}
			}
			free, err := s.Free(ctx)
			if err != nil {
				t.Fatalf("free: %v", err)
			}
			if name == "dir" && free <= 0 {
				t.Errorf("dir free: got %d, want > 0", free)
			}
		})
	}
}

func TestFloorRefuses(t *testing.T) {
	ctx := context.Background()
	ds, _ := NewDirStore(t.TempDir())
	if err := CheckFloor(ctx, ds, 1<<20); err != nil {
		t.Errorf("1 MiB floor: got %v, want nil", err)
	}
	if err := CheckFloor(ctx, ds, 1<<62); !errors.Is(err, ErrLowSpace) {
		t.Errorf("huge floor: got %v, want ErrLowSpace", err)
	}
	pg := &PGStore{Pool: testPool(t), Quota: 1} // a quota already used up
	if err := CheckFloor(ctx, pg, 1<<20); !errors.Is(err, ErrLowSpace) {
		t.Errorf("pg over quota: got %v, want ErrLowSpace", err)
	}
	if err := CheckFloor(ctx, &PGStore{Pool: pg.Pool}, 1<<20); err != nil {
		t.Errorf("pg without quota: got %v, want nil (cannot tell)", err)
	}
}
