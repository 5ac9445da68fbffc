package ops_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/tokenrotator/tokenrotator/infra/ops"
)

// TestStoreCredentials runs make credentials' store against moto_server: a
// new secret, then a new version that keeps the integration's settings,
// and refusals that write nothing. No error carries the client secret.
func TestStoreCredentials(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	const name = "team/adobe-credentials"
	secret := clientSecretSentinel + ` "quoted" \ é`

	got, err := ops.StoreCredentials(ctx, r.sm, name, "", "client-a", secret)
	if err != nil || !got.Created || !strings.Contains(got.ARN, ":secret:"+name+"-") {
		t.Fatalf("StoreCredentials(new) = %+v, %v; want a created secret's full ARN", got, err)
	}
	value := func() map[string]any {
		out, err := r.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]any{}
		if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	if v := value(); v["client_id"] != "client-a" || v["client_secret"] != secret || len(v) != 2 {
		t.Errorf("stored %d fields, client_id %v, secret kept exactly: %v; want the two", len(v), v["client_id"], v["client_secret"] == secret)
	}

	// An integration's settings survive a new secret.
	withSettings, _ := json.Marshal(map[string]any{"client_id": "client-a", "client_secret": "old", "token_url": "https://ims.example/token", "scope": "openid"})
	if _, err := r.sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(name), SecretString: aws.String(string(withSettings))}); err != nil {
		t.Fatal(err)
	}
	again, err := ops.StoreCredentials(ctx, r.sm, name, "", "client-b", secret)
	if err != nil || again.Created || again.ARN != got.ARN {
		t.Fatalf("StoreCredentials(existing) = %+v, %v; want the same ARN, not created", again, err)
	}
	if v := value(); v["client_id"] != "client-b" || v["client_secret"] != secret || v["token_url"] != "https://ims.example/token" || v["scope"] != "openid" {
		t.Errorf("after the update: client_id %v, token_url %v, scope %v; want client-b and the settings kept", v["client_id"], v["token_url"], v["scope"])
	}

	// A managed external secret keeps its spelling: a value with both
	// spellings would be refused by every run.
	const managed = "team/okta-managed"
	okta, _ := json.Marshal(map[string]any{"clientId": "client-o", "clientSecret": "old", "domain": "example.okta.com"})
	if _, err := r.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(managed), SecretString: aws.String(string(okta))}); err != nil {
		t.Fatal(err)
	}
	if _, err := ops.StoreCredentials(ctx, r.sm, managed, "", "client-p", secret); err != nil {
		t.Fatalf("StoreCredentials(managed) = %v", err)
	}
	out, err := r.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(managed)})
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]any{}
	if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &m); err != nil {
		t.Fatal(err)
	}
	_, id := m["client_id"]
	_, sec := m["client_secret"]
	if m["clientId"] != "client-p" || m["clientSecret"] != secret || m["domain"] != "example.okta.com" || id || sec {
		t.Errorf("managed secret after the update: clientId %v, clientSecret kept exactly %v, domain %v, client_id added %v, client_secret added %v; "+
			"want its own spelling only", m["clientId"], m["clientSecret"] == secret, m["domain"], id, sec)
	}

	for _, tt := range []struct {
		name, secretName, id, secret, want string
	}{
		{"empty secret", name, "client-c", "  ", "must both be non-empty"},
		{"empty id", name, "", secret, "must both be non-empty"},
		{"not a JSON object", "team/plain", "client-c", secret, "holds something other than a JSON object"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.secretName == "team/plain" {
				if _, err := r.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("team/plain"), SecretString: aws.String("not json")}); err != nil {
					t.Fatal(err)
				}
			}
			_, err := ops.StoreCredentials(ctx, r.sm, tt.secretName, "", tt.id, tt.secret)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("StoreCredentials() = %v, want an error with %q", err, tt.want)
			}
			if strings.Contains(err.Error(), clientSecretSentinel) {
				t.Errorf("the error carries the client secret")
			}
		})
	}
	if v := value(); v["client_id"] != "client-b" {
		t.Errorf("a refused store changed the secret: client_id %v", v["client_id"])
	}
}

func TestPrompt(t *testing.T) {
	var out bytes.Buffer
	in := bufio.NewReader(strings.NewReader("  my-client \n"))
	id, secret, err := ops.Prompt(in, &out, func() (string, error) { return clientSecretSentinel + "\n", nil })
	if err != nil || id != "my-client" || secret != clientSecretSentinel {
		t.Fatalf("Prompt() = %q, secret read %v, %v; want my-client and the secret", id, secret == clientSecretSentinel, err)
	}
	if strings.Contains(out.String(), clientSecretSentinel) || !strings.Contains(out.String(), "Client secret (not shown): ") {
		t.Errorf("Prompt printed %q: want both questions and never the secret", out.String())
	}
	_, _, err = ops.Prompt(bufio.NewReader(strings.NewReader("")), &out, func() (string, error) { return "", errors.New("no terminal") })
	if err == nil {
		t.Errorf("Prompt() on empty input = nil error, want one")
	}
}
