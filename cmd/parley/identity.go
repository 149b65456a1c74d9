package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/parley-mediation/parley/cases"
)

// httpVerifier is an IdentityVerifier that asks a real-name or face-verification service over HTTP
// (PARLEY_IDENTITY_VERIFIER_URL): it POSTs the cases.VerificationRequest as JSON and expects
// {"passed": bool, "reference": "…", "note": "…"}.
type httpVerifier struct {
	url, name string
	client    *http.Client
}

func (v *httpVerifier) Name() string { return v.name }

func (v *httpVerifier) Verify(ctx context.Context, req cases.VerificationRequest) (*cases.VerificationResult, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, v.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	hr.Header.Set("Content-Type", "application/json")
	resp, err := v.client.Do(hr)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("verifier answered %d", resp.StatusCode)
	}
	var out cases.VerificationResult
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("verifier answer: %w", err)
	}
	return &out, nil
}
