package imsemu_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/tokenrotator/tokenrotator/infra/local/imsemu"
)

// TestManagementFaults: a queued fault answers the first matching call
// only, a carried-out one still adds, a sticky one answers every matching
// call until ClearFault, and token requests never take them.
func TestManagementFaults(t *testing.T) {
	r := newMgmt(t, nil)
	tok, status := r.mint(t, mgmtClient, mgmtSecret, imsemu.ManagementScopes)
	if status != http.StatusOK {
		t.Fatalf("mint: %d", status)
	}
	r.emu.EnqueueManagement(imsemu.ManagementFault{Method: http.MethodPost, Fault: imsemu.Status(http.StatusServiceUnavailable, "")},
		imsemu.ManagementFault{Method: http.MethodPost, Fault: imsemu.Status(http.StatusBadGateway, ""), CarriedOut: true})
	if got, _ := r.call(t, http.MethodGet, secretsPath, tok, mgmtClient); got != http.StatusOK {
		t.Errorf("list with only POST faults queued = %d, want 200", got)
	}
	if got, body := r.call(t, http.MethodPost, secretsPath, tok, mgmtClient); got != http.StatusServiceUnavailable || strings.Contains(body, "client_secret") {
		t.Errorf("first add = %d %s, want 503 without a secret", got, body)
	}
	if infos, _ := r.emu.Secrets(mgmtClient); len(infos) != 1 {
		t.Errorf("secrets after a refused add = %d, want 1", len(infos))
	}
	if got, body := r.call(t, http.MethodPost, secretsPath, tok, mgmtClient); got != http.StatusBadGateway || strings.Contains(body, "client_secret") {
		t.Errorf("second add = %d %s, want 502 without the secret it made", got, body)
	}
	if infos, _ := r.emu.Secrets(mgmtClient); len(infos) != 2 {
		t.Errorf("secrets after a carried-out add = %d, want 2", len(infos))
	}
	r.emu.SetManagementFault(imsemu.ManagementFault{Method: http.MethodGet, Fault: imsemu.Status(http.StatusInternalServerError, "")})
	for range 2 {
		if got, _ := r.call(t, http.MethodGet, secretsPath, tok, mgmtClient); got != http.StatusInternalServerError {
			t.Errorf("list under a sticky fault = %d, want 500", got)
		}
	}
	if _, status := r.mint(t, mgmtClient, mgmtSecret, imsemu.ManagementScopes); status != http.StatusOK {
		t.Errorf("token request under a management fault = %d, want 200", status)
	}
	r.emu.ClearFault()
	if got, _ := r.call(t, http.MethodGet, secretsPath, tok, mgmtClient); got != http.StatusOK {
		t.Errorf("list after ClearFault = %d, want 200", got)
	}
}
