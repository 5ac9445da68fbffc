package rotation_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// TestProtocolCreateSecretReportsClientSecretExpiry: the rotation
// protocol's createSecret reads the credentials as a token run does: its
// result and the integration's ClientSecretDaysLeft carry the client
// secret's expiry, and an expired one is still tried, with a warning.
func TestProtocolCreateSecretReportsClientSecretExpiry(t *testing.T) {
	n := newNative(t)
	ctx := context.Background()
	expired := time.Now().Add(-48 * time.Hour).UTC().Truncate(time.Second)
	at := expired.Format(time.RFC3339)
	if _, err := n.sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(credsID),
		SecretString: aws.String(`{"client_id":"` + clientID + `","client_secret":"` + sentinelSecret + `","client_secret_expires_at":"` + at + `"}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.svc.Rotate(ctx, n.tokenID); err != nil {
		t.Fatalf("rotating with a secret past its date (the emulator still takes it): %v", err)
	}
	if lines := n.metrics.take(); !slices.Contains(lines, "client secret default expires "+at) {
		t.Errorf("metric lines = %q, want the client secret's expiry", lines)
	}
	if !slices.ContainsFunc(n.texts, func(s string) bool {
		return strings.Contains(s, `"step":"createSecret"`) && strings.Contains(s, `"client_secret_expires_at":"`+at+`"`)
	}) {
		t.Errorf("results = %q, want createSecret's to carry client_secret_expires_at %s", n.texts, at)
	}
	if !slices.ContainsFunc(strings.Split(n.logs.String(), "\n"), func(l string) bool {
		return strings.Contains(l, `"level":"WARN"`) && strings.Contains(l, "client secret expired") && strings.Contains(l, at)
	}) {
		t.Errorf("logs = %s, want a WARN with the date", n.logs)
	}
	n.noLeak()
}
