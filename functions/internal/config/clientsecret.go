package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// The credentials secret's fields that the client-secret rotation reads
// and writes, besides client_secret itself.
const (
	// FieldOrgID and FieldCredentialID name the Adobe credential, as in
	// its Developer Console URL; required when ClientSecretRotation is
	// RotationAdobe.
	FieldOrgID        = "org_id"
	FieldCredentialID = "credential_id"
	// FieldSecretUUID is the uuid of the secret in client_secret; absent
	// before the first rotation (a single listed secret is then taken as
	// the current one).
	FieldSecretUUID = "client_secret_uuid"
	// FieldPreviousUUID is the uuid that was current before the rotation
	// that wrote the value: the one to retire.
	FieldPreviousUUID = "client_secret_previous_uuid"
	// FieldSecretExpiresAt is when client_secret expires, RFC 3339;
	// optional. The Adobe rotation writes the new secret's expiry there, or
	// removes the field when the secret does not expire.
	FieldSecretExpiresAt = "client_secret_expires_at"
)

// ClientSecretIDs are what a client-secret rotation knows of the secrets
// from the credentials secret's value. It holds no secret.
type ClientSecretIDs struct {
	// OrgID and CredentialID name the credential at the provider.
	OrgID, CredentialID string
	// UUID is client_secret_uuid; empty when unknown.
	UUID string
	// PreviousUUID is client_secret_previous_uuid; empty when none.
	PreviousUUID string
}

// ReadClientSecretIDs reads the fields above from a credentials secret's
// fields (secretstore.Credentials.Fields). With required set (the Adobe
// rotation is on), org_id and credential_id must be there. Each present
// field must be a string of plain characters. The error names every bad
// field; it quotes no value.
func ReadClientSecretIDs(fields map[string]json.RawMessage, required bool) (ClientSecretIDs, error) {
	var ids ClientSecretIDs
	var errs []error
	for _, f := range []struct {
		key  string
		dst  *string
		need bool
	}{
		{FieldOrgID, &ids.OrgID, required},
		{FieldCredentialID, &ids.CredentialID, required},
		{FieldSecretUUID, &ids.UUID, false},
		{FieldPreviousUUID, &ids.PreviousUUID, false},
	} {
		raw, ok := fields[f.key]
		if !ok {
			if f.need {
				errs = append(errs, fmt.Errorf("field %q is missing: the client-secret rotation needs it (the credential's Developer Console URL shows it)", f.key))
			}
			continue
		}
		var v string
		if err := json.Unmarshal(raw, &v); err != nil {
			errs = append(errs, fmt.Errorf("field %q must be a string", f.key))
			continue
		}
		v = strings.TrimSpace(v)
		switch {
		case v == "" && f.need:
			errs = append(errs, fmt.Errorf("field %q is empty: the client-secret rotation needs it", f.key))
		case strings.ContainsAny(v, "/?#") || strings.ContainsFunc(v, isControl) || len(v) > 256:
			errs = append(errs, fmt.Errorf("field %q is not an id: want at most 256 characters, no control characters and none of / ? #", f.key))
		default:
			*f.dst = v
		}
	}
	return ids, errors.Join(errs...)
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }
