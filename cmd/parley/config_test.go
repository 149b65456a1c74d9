package main

import (
	"io"
	"strings"
	"testing"
)

// TestConfigBooleans: a boolean setting is true or false; anything else (yes, on, y, an empty-looking typo) is an
// error naming the setting, from the environment as from a flag, never a silent false.
func TestConfigBooleans(t *testing.T) {
	var bools []setting
	for _, st := range settings() {
		if st.Default == "true" || st.Default == "false" {
			bools = append(bools, st)
		}
	}
	if len(bools) < 3 {
		t.Fatalf("found %d boolean settings, want at least cookie-secure, trust-proxy, migrate, turn", len(bools))
	}
	for _, st := range bools {
		for _, bad := range []string{"yes", "no", "on", "off", "enabled", "ture"} {
			_, _, err := parseConfig("serve", nil, envFunc(map[string]string{st.Env(): bad}), io.Discard)
			if err == nil || !strings.Contains(err.Error(), st.Name) || !strings.Contains(err.Error(), bad) {
				t.Errorf("%s=%s: %v, want an error naming %s", st.Env(), bad, err, st.Name)
			}
		}
		_, _, err := parseConfig("serve", []string{"-" + st.Name + "=yes"}, envFunc(nil), io.Discard)
		if err == nil {
			t.Errorf("-%s=yes was accepted", st.Name)
		}
	}
	for v, want := range map[string]bool{"true": true, "1": true, "TRUE": true, "t": true, "false": false, "0": false, "False": false} {
		c, _, err := parseConfig("serve", nil, envFunc(map[string]string{"PARLEY_TRUST_PROXY": v, "PARLEY_MIGRATE": v}), io.Discard)
		if err != nil || c.TrustProxy != want || c.Migrate != want {
			t.Errorf("%q: trust-proxy %v migrate %v (%v), want %v", v, c != nil && c.TrustProxy, c != nil && c.Migrate, err, want)
		}
	}
	// The defaults.
	c, _, err := parseConfig("serve", nil, envFunc(nil), io.Discard)
	if err != nil || !c.Migrate || c.TrustProxy {
		t.Errorf("defaults: migrate %v trust-proxy %v (%v)", c.Migrate, c.TrustProxy, err)
	}
}
