package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"
)

func TestMemLimiter(t *testing.T) {
	l := newLimiter(60, 3)
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if !l.allow(ctx, "a") {
			t.Fatalf("call %d refused within the burst", i)
		}
	}
	if l.allow(ctx, "a") {
		t.Error("call past the burst allowed")
	}
	if !l.allow(ctx, "b") {
		t.Error("another key refused")
	}
}

// TestRedisLimiterSharedAcrossNodes runs two limiters (two nodes) on one real Redis.
func TestRedisLimiterSharedAcrossNodes(t *testing.T) {
	url := os.Getenv("PARLEY_TEST_REDIS_URL")
	if url == "" {
		url = "redis://127.0.0.1:6379/0"
	}
	ctx := context.Background()
	rdb, err := openRedis(ctx, url)
	if err != nil {
		t.Fatalf("redis: %v (make test starts Redis)", err)
	}
	defer rdb.Close()
	a := &redisLimiter{rdb: rdb, perMinute: 5, log: slog.New(slog.DiscardHandler)}
	b := &redisLimiter{rdb: rdb, perMinute: 5, log: slog.New(slog.DiscardHandler)}
	for attempt := 0; attempt < 3; attempt++ {
		key := fmt.Sprintf("test-%d", time.Now().UnixNano())
		minute := time.Now().Unix() / 60
		allowed := 0
		for i := 0; i < 10; i++ {
			l := a
			if i%2 == 1 {
				l = b
			}
			if l.allow(ctx, key) {
				allowed++
			}
		}
		if time.Now().Unix()/60 != minute {
			continue // the count is per minute and a new one began: try again
		}
		if allowed != 5 {
			t.Errorf("two nodes allowed %d calls in all, want 5", allowed)
		}
		return
	}
	t.Fatal("could not finish inside one minute three times")
}
