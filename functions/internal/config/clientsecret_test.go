package config

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestClientSecretSettings(t *testing.T) {
	vars := base()
	vars[EnvClientSecretRotation] = "adobe"
	vars[EnvManagementURL] = "http://127.0.0.1:9/"
	cfg, err := Load(env(vars))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ClientSecretRotation != RotationAdobe || cfg.ManagementURL != "http://127.0.0.1:9/" {
		t.Errorf("Load() = rotation %q, management URL %q; want adobe and the loopback URL", cfg.ClientSecretRotation, cfg.ManagementURL)
	}
	raw := func(s string) json.RawMessage { return json.RawMessage(s) }
	tests := []struct {
		name           string
		fields         map[string]json.RawMessage
		rotation, mgmt string
	}{
		{"inherited", nil, RotationAdobe, "http://127.0.0.1:9/"},
		{"turned off per integration", map[string]json.RawMessage{"client_secret_rotation": raw(`"none"`)}, "", "http://127.0.0.1:9/"},
		{"turned off by an empty field", map[string]json.RawMessage{"client_secret_rotation": raw(`""`)}, "", "http://127.0.0.1:9/"},
		{"own management URL", map[string]json.RawMessage{"management_url": raw(`"https://mgmt.example"`)}, RotationAdobe, "https://mgmt.example"},
		{"own token URL: not inherited", map[string]json.RawMessage{"token_url": raw(`"https://other.example/token"`)}, "", ""},
		{"own token URL and own rotation", map[string]json.RawMessage{"token_url": raw(`"https://other.example/token"`),
			"client_secret_rotation": raw(`"adobe"`)}, RotationAdobe, ""},
	}
	for _, tc := range tests {
		p, err := cfg.Provider.Overlay(tc.fields)
		if err != nil || p.ClientSecretRotation != tc.rotation || p.ManagementURL != tc.mgmt {
			t.Errorf("%s: Overlay() = %q, %q, %v; want %q, %q", tc.name, p.ClientSecretRotation, p.ManagementURL, err, tc.rotation, tc.mgmt)
		}
	}
}

func TestClientSecretSettingsRefused(t *testing.T) {
	vars := base()
	vars[EnvClientSecretRotation] = "okta"
	vars[EnvManagementURL] = "http://mgmt.example"
	_, err := Load(env(vars))
	for _, want := range []string{EnvClientSecretRotation + `: "okta" is not "adobe" or "none"`, EnvManagementURL + ": "} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Load() error = %v, want it to contain %q", err, want)
		}
	}
	_, err = loadBase(t).Provider.Overlay(map[string]json.RawMessage{
		"client_secret_rotation": json.RawMessage(`"entra"`), "management_url": json.RawMessage(`"ftp://x"`)})
	for _, want := range []string{`field "client_secret_rotation"`, `field "management_url"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Overlay() error = %v, want it to contain %q", err, want)
		}
	}
}

func TestReadClientSecretIDs(t *testing.T) {
	fields := map[string]json.RawMessage{"org_id": json.RawMessage(`"ORG@AdobeOrg"`), "credential_id": json.RawMessage(`" 42 "`),
		"client_secret_uuid": json.RawMessage(`"u1"`), "client_secret_previous_uuid": json.RawMessage(`"u0"`)}
	got, err := ReadClientSecretIDs(fields, true)
	if want := (ClientSecretIDs{OrgID: "ORG@AdobeOrg", CredentialID: "42", UUID: "u1", PreviousUUID: "u0"}); err != nil || got != want {
		t.Errorf("ReadClientSecretIDs() = %+v, %v; want %+v", got, err, want)
	}
	if got, err := ReadClientSecretIDs(nil, false); err != nil || got != (ClientSecretIDs{}) {
		t.Errorf("ReadClientSecretIDs(nil, not required) = %+v, %v; want nothing and no error", got, err)
	}
	_, err = ReadClientSecretIDs(map[string]json.RawMessage{"credential_id": json.RawMessage(`""`),
		"client_secret_uuid": json.RawMessage(`7`), "client_secret_previous_uuid": json.RawMessage(`"a/b SECRETISH"`)}, true)
	for _, want := range []string{`"org_id" is missing`, `"credential_id" is empty`, `"client_secret_uuid" must be a string`, `"client_secret_previous_uuid" is not an id`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ReadClientSecretIDs() error = %v, want it to contain %q", err, want)
		}
	}
	if err != nil && strings.Contains(err.Error(), "SECRETISH") {
		t.Errorf("ReadClientSecretIDs() error quotes a value: %v", err)
	}
}
