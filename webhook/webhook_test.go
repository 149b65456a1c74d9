package webhook

import (
	"testing"
	"time"

	"github.com/parley-mediation/parley/cases"
)

func TestSignAndVerify(t *testing.T) {
	secret := []byte("whsec_test")
	body := []byte(`{"id":"evt_1","type":"case.accept"}`)
	at := time.Unix(1795312800, 0)
	h := Sign(secret, at, body)
	// The documented construction: HMAC-SHA256(secret, "<t>.<body>") in lower-case hex.
	if want := "t=1795312800,v1=" + mac(secret, "1795312800", body); h != want {
		t.Fatalf("header %q, want %q", h, want)
	}
	if err := Verify(secret, h, body, at.Add(time.Minute), 5*time.Minute); err != nil {
		t.Errorf("a good signature: %v", err)
	}
	for name, tc := range map[string]struct {
		secret, body []byte
		header       string
		now          time.Time
	}{
		"other secret":    {[]byte("whsec_other"), body, h, at},
		"changed body":    {secret, []byte(`{"id":"evt_1","type":"case.decline"}`), h, at},
		"too old":         {secret, body, h, at.Add(6 * time.Minute)},
		"from the future": {secret, body, h, at.Add(-6 * time.Minute)},
		"no v1":           {secret, body, "t=1795312800", at},
		"garbage":         {secret, body, "hello", at},
	} {
		if err := Verify(tc.secret, tc.header, tc.body, tc.now, 5*time.Minute); err == nil {
			t.Errorf("%s: verified", name)
		}
	}
	// Several v1 values (a rotated secret): one match is enough.
	if err := Verify(secret, "t=1795312800,v1=00,"+h[len("t=1795312800,"):], body, at, time.Minute); err != nil {
		t.Errorf("two signatures: %v", err)
	}
}

func TestBackoff(t *testing.T) {
	p := cases.RetryPolicy{Base: 10 * time.Second, Max: time.Hour, MaxAttempts: 10}
	want := []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second, 160 * time.Second, 320 * time.Second, 640 * time.Second, 1280 * time.Second, 2560 * time.Second, time.Hour, time.Hour}
	for i, w := range want {
		if got := p.Backoff(i + 1); got != w {
			t.Errorf("after attempt %d: %v, want %v", i+1, got, w)
		}
	}
}
