package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/docflow"
	"github.com/parley-mediation/parley/signing"
)

// testHook, set only by tests that run the server in a child process, is called at the named points of the
// document flow (docflow.Service.Hook); nil in production.
var testHook func(point string)

// newDocSigner wires the document service: the font, the keys (docflow/keys.go: Parley's CA, the TSA, the
// platform and seal keys, generated ones kept in server_secrets) and the store.
func newDocSigner(ctx context.Context, cfg *Config, store *cases.Store, cal *cases.Calendar, logger *slog.Logger) (*docflow.Service, error) {
	var font *signing.Font
	var err error
	if cfg.Font != "" {
		font, err = signing.LoadFont(cfg.Font)
	} else {
		font, err = signing.FindFont()
	}
	if err != nil {
		return nil, fmt.Errorf("signing: %w (install fonts-lxgw-wenkai, or set PARLEY_FONT)", err)
	}
	// The key-encryption key (signltv.go) seals every private key docflow stores.
	kek, _, err := loadKeyRing(cfg, logger)
	if err != nil {
		return nil, err
	}
	keys, err := docflow.LoadKeys(ctx, docflow.KeyConfig{Operator: cfg.Operator, BaseURL: cfg.BaseURL, CACertFile: cfg.CACertFile, CAKeyFile: cfg.CAKeyFile,
		TSAURL: cfg.TSAURL, SealKeysDir: cfg.SealKeysDir, SealKeysPassword: cfg.SealKeysPassword, KEK: kek, Log: logger}, store)
	if err != nil {
		return nil, err
	}
	d := docflow.New(store, keys, font, cfg.BaseURL, cal.Loc, logger)
	// A job claimed by a node that died is retried after a few sweeps.
	d.Lease = max(5*cfg.SweepInterval, 2e9)
	d.Retry = cfg.SweepInterval
	d.Hook = testHook
	return d, nil
}
