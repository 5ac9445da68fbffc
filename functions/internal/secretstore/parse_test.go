package secretstore_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tokenrotator/tokenrotator/functions/internal/secretstore"
)

// TestParseCredentialsManagedSpellings: a credentials secret of Secrets
// Manager's managed external secret types (OktaOAuthClientSecret,
// SalesforceClientSecret) is read as it is: clientId and clientSecret are
// client_id and client_secret; both spellings of one field are refused,
// naming the two keys and no value.
func TestParseCredentialsManagedSpellings(t *testing.T) {
	for _, c := range []struct {
		name, value, wantID, wantSecret, wantErr string
		wantFields                               []string
	}{
		{name: "okta managed external secret",
			value:  `{"clientId":"okta-app","clientSecret":"` + sentinel + `","domain":"example.okta.com","secretId":"ocs1"}`,
			wantID: "okta-app", wantSecret: sentinel, wantFields: []string{"domain", "secretId"}},
		{name: "camel id with snake secret", value: `{"clientId":"c","client_secret":"` + sentinel + `"}`, wantID: "c", wantSecret: sentinel},
		{name: "camel id, no secret", value: `{"clientId":"c"}`, wantID: "c"},
		{name: "both ids", value: `{"client_id":"a","clientId":"a","client_secret":"` + sentinel + `"}`,
			wantErr: `fields "client_id" and "clientId" are both set`},
		{name: "both secrets", value: `{"client_id":"a","client_secret":"` + sentinel + `","clientSecret":"` + sentinel + `-2"}`,
			wantErr: `fields "client_secret" and "clientSecret" are both set`},
		{name: "camel secret blank", value: `{"clientId":"a","clientSecret":" "}`, wantErr: `field "clientSecret" is empty`},
		{name: "camel id a number", value: `{"clientId":7,"clientSecret":"` + sentinel + `"}`, wantErr: `field "clientId" is not a string`},
		{name: "no id at all", value: `{"clientSecret":"` + sentinel + `"}`, wantErr: `field "client_id" is missing`},
	} {
		t.Run(c.name, func(t *testing.T) {
			creds, err := secretstore.ParseCredentials(c.value)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("ParseCredentials() error = %v, want it to contain %q", err, c.wantErr)
				}
				if strings.Contains(err.Error(), sentinel) {
					t.Errorf("ParseCredentials() error quotes the secret: %v", err)
				}
				return
			}
			if err != nil || creds.ClientID != c.wantID || creds.ClientSecret != c.wantSecret {
				t.Fatalf("ParseCredentials() = %v, %v; want client %q with its secret", creds, err, c.wantID)
			}
			if len(creds.Fields) != len(c.wantFields) {
				t.Errorf("ParseCredentials().Fields has %d fields, want %v", len(creds.Fields), c.wantFields)
			}
			for _, f := range c.wantFields {
				if _, ok := creds.Fields[f]; !ok {
					t.Errorf("ParseCredentials().Fields lacks %q", f)
				}
			}
		})
	}
}

// TestParseCredentialsSecretExpiry: client_secret_expires_at is an
// optional RFC 3339 time; a bad one is an error naming the field.
func TestParseCredentialsSecretExpiry(t *testing.T) {
	base := `{"client_id":"c","client_secret":"` + sentinel + `"`
	for _, c := range []struct {
		name, value, wantErr string
		want                 time.Time
	}{
		{name: "absent", value: base + `}`},
		{name: "utc", value: base + `,"client_secret_expires_at":"2027-03-01T00:00:00Z"}`, want: time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)},
		{name: "offset", value: base + `,"client_secret_expires_at":"2027-03-01T02:00:00+02:00"}`, want: time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)},
		{name: "empty means none", value: base + `,"client_secret_expires_at":""}`},
		{name: "date only", value: base + `,"client_secret_expires_at":"2027-03-01"}`,
			wantErr: `field "client_secret_expires_at" is not an RFC 3339 time`},
		{name: "a number", value: base + `,"client_secret_expires_at":1798761600}`,
			wantErr: `field "client_secret_expires_at" is not a string`},
		{name: "with a bad id too", value: `{"client_id":"","client_secret_expires_at":"soon"}`,
			wantErr: `field "client_id" is empty; field "client_secret_expires_at" is not an RFC 3339 time`},
	} {
		t.Run(c.name, func(t *testing.T) {
			creds, err := secretstore.ParseCredentials(c.value)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("ParseCredentials() error = %v, want it to contain %q", err, c.wantErr)
				}
				if strings.Contains(err.Error(), sentinel) {
					t.Errorf("ParseCredentials() error quotes the secret: %v", err)
				}
				return
			}
			if err != nil || !creds.ClientSecretExpiresAt.Equal(c.want) || creds.ClientSecretExpiresAt.Location() != time.UTC {
				t.Fatalf("ParseCredentials() = %v (expires %v), %v; want it to expire %v, in UTC", creds, creds.ClientSecretExpiresAt, err, c.want)
			}
		})
	}
}
