package signing

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/digitorus/timestamp"
)

func TestLocalTSARespond(t *testing.T) {
	t.Parallel()
	tsa := getPKI(t).tsaAt(testNow)
	digest := sha256.Sum256([]byte("signature value"))
	req, err := (&timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: digest[:], Certificates: true, Nonce: big.NewInt(77)}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := tsa.Respond(req)
	if err != nil {
		t.Fatal(err)
	}
	// An independent RFC 3161 implementation accepts the response.
	ts, err := timestamp.ParseResponse(resp)
	if err != nil {
		t.Fatalf("digitorus/timestamp rejects the response: %v", err)
	}
	if !bytes.Equal(ts.HashedMessage, digest[:]) || ts.Nonce.Int64() != 77 || !ts.Time.Equal(testNow) || !ts.Policy.Equal(ParleyTSAPolicy) {
		t.Errorf("token: imprint %x nonce %v time %v policy %v", ts.HashedMessage, ts.Nonce, ts.Time, ts.Policy)
	}
	if len(ts.Certificates) == 0 || !ts.Certificates[0].Equal(tsa.Cert) && !bytes.Contains(resp, tsa.Cert.Raw) {
		t.Error("TSA certificate not included though requested")
	}
	ti, err := parseToken(ts.RawToken)
	if err != nil {
		t.Fatalf("own parser: %v", err)
	}
	if !ti.time.Equal(testNow) || !bytes.Equal(ti.digest, digest[:]) {
		t.Errorf("own parser: %v %x", ti.time, ti.digest)
	}

	// Requests Parley cannot serve get a rejection, not an error.
	for name, bad := range map[string][]byte{
		"garbage": []byte("garbage"),
		"policy":  mustMarshalRequest(t, &timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: digest[:], TSAPolicyOID: []int{1, 2, 3}}),
		"length":  mustMarshalRequest(t, &timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: digest[:5]}),
	} {
		resp, err := tsa.Respond(bad)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if _, err := timestamp.ParseResponse(resp); err == nil {
			t.Errorf("%s: granted", name)
		}
	}
}

func mustMarshalRequest(t *testing.T, r *timestamp.Request) []byte {
	b, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestHTTPTimestamper serves LocalTSA over HTTP on loopback, as cmd/parley would, and signs through it.
func TestHTTPTimestamper(t *testing.T) {
	t.Parallel()
	p := getPKI(t)
	tsa := p.tsaAt(testNow.Add(time.Second))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/timestamp-query" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
		resp, err := tsa.Respond(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/timestamp-reply")
		w.Write(resp)
	}))
	defer srv.Close()
	ht := &HTTPTimestamper{URL: srv.URL, Client: srv.Client()}
	out, err := Sign(context.Background(), sharedAgreement(t)[0], Request{
		Field: "sig-organisation", Appearance: Appearance{Name: "x", Font: p.font},
		Cert: p.org.Cert, Chain: p.org.Chain, Time: testNow, Validation: p.validation(),
	}, p.org.Key, ht)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(out, p.roots, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if s := rep.Signatures[0]; !rep.Valid || !s.TimestampValid || !s.Timestamp.Equal(testNow.Add(time.Second)) {
		t.Errorf("timestamp via HTTP: valid %v, %+v", rep.Valid, s)
	}
	bad := &HTTPTimestamper{URL: srv.URL + "/nowhere", Client: srv.Client()}
	srv404 := httptest.NewServer(http.NotFoundHandler())
	defer srv404.Close()
	bad.URL = srv404.URL
	if _, err := bad.Timestamp(context.Background(), make([]byte, 32)); err == nil {
		t.Error("HTTP 404 accepted as a timestamp")
	}
}
