package kmssign_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/tokenrotator/tokenrotator/functions/internal/oauthtoken"
	"github.com/tokenrotator/tokenrotator/functions/kmssign"
	"github.com/tokenrotator/tokenrotator/infra/local/motoserver"
	"github.com/tokenrotator/tokenrotator/infra/local/npmcache"
	"github.com/tokenrotator/tokenrotator/infra/ops"
)

// jose is the third-party JOSE library that checks the assertions: panva's
// jose, pinned.
var jose = npmcache.Package{Name: "jose", Version: "6.2.17", Flags: []string{"--omit=dev"}}

// TestAssertionsVerifyWithJose: assertions that oauthtoken.JWTAuth signs
// through KMS keys in moto_server (RS256, PS256 and ES256 with a kid,
// PS256 with x5t#S256), made with make signing-key's code, verify with
// jose's jwtVerify against the JWK make signing-key prints, with the
// issuer, subject, audience, typ and time claims checked; a tampered one
// does not. It skips without node and npm, except under CI=true.
func TestAssertionsVerifyWithJose(t *testing.T) {
	node, errNode := exec.LookPath("node")
	npm, errNPM := exec.LookPath("npm")
	if errNode != nil || errNPM != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("node and npm are needed under CI=true: %v %v", errNode, errNPM)
		}
		t.Skip("node or npm not found on PATH: install Node.js 20 or later to check assertions with jose")
	}
	ctx, cancel := context.WithTimeout(context.Background(), npmcache.InstallTimeout)
	defer cancel()
	dir, err := jose.Install(ctx, npm, npmcache.DefaultDir(), os.Stderr)
	if err != nil {
		t.Fatalf("installing jose: %v", err)
	}
	script, err := os.ReadFile("testdata/jose-verify.mjs")
	if err != nil {
		t.Fatal(err)
	}
	// The script must sit beside node_modules for its import to resolve;
	// a temporary name, then a rename, so that parallel runs never see half.
	f, err := os.CreateTemp(dir, ".jose-verify-*.mjs")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	t.Cleanup(func() { os.Remove(f.Name()) })
	if err := os.WriteFile(f.Name(), script, 0o644); err != nil {
		t.Fatal(err)
	}

	srv := motoserver.ForTest(t)
	c := kms.NewFromConfig(srv.AWSConfig())
	rsaKey, err := ops.CreateSigningKey(ctx, c, "tokenrotator", "jose-rsa", ops.SpecRSA2048, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ops.CreateSigningKey(ctx, c, "tokenrotator", "jose-p256", ops.SpecP256, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	certSHA256, _ := hex.DecodeString(rsaKey.CertSHA256)
	const aud = "https://login.example.com/oauth2/v2.0/token"
	type check struct {
		Name string          `json:"name"`
		JWK  json.RawMessage `json:"jwk"`
		Alg  string          `json:"alg"`
		JWT  string          `json:"jwt"`
		Iss  string          `json:"iss"`
		Aud  string          `json:"aud"`
	}
	tests := []struct {
		name   string
		key    ops.SigningKey
		auth   oauthtoken.JWTAuth
		alg    string
		header map[string]string // besides alg and typ
	}{
		{"RS256 with kid", rsaKey, oauthtoken.JWTAuth{KeyID: rsaKey.KeyID}, "RS256", map[string]string{"kid": rsaKey.KeyID}},
		{"PS256 with kid", rsaKey, oauthtoken.JWTAuth{PSS: true, KeyID: rsaKey.KeyID}, "PS256", map[string]string{"kid": rsaKey.KeyID}},
		{"ES256 with kid", ecKey, oauthtoken.JWTAuth{KeyID: ecKey.KeyID}, "ES256", map[string]string{"kid": ecKey.KeyID}},
		{"PS256 with x5t#S256", rsaKey, oauthtoken.JWTAuth{PSS: true, CertSHA256: certSHA256}, "PS256",
			map[string]string{"x5t#S256": base64.RawURLEncoding.EncodeToString(certSHA256)}},
	}
	var checks []check
	for _, tt := range tests {
		tt.auth.Key = kmssign.Loader(c, tt.key.AliasARN)
		jwt, err := tt.auth.Assertion(ctx, "client-1", aud)
		if err != nil {
			t.Fatalf("%s: Assertion() error = %v", tt.name, err)
		}
		checks = append(checks, check{tt.name, json.RawMessage(tt.key.JWK), tt.alg, jwt, "client-1", aud})
	}
	// Tampered: the first assertion with its sub changed, its signature kept.
	parts := strings.Split(checks[0].JWT, ".")
	claims, _ := base64.RawURLEncoding.DecodeString(parts[1])
	parts[1] = base64.RawURLEncoding.EncodeToString(bytes.Replace(claims, []byte(`"sub":"client-1"`), []byte(`"sub":"client-2"`), 1))
	tampered := checks[0]
	tampered.Name, tampered.JWT, tampered.Iss = "tampered", strings.Join(parts, "."), "client-1"
	checks = append(checks, tampered)

	in, _ := json.Marshal(checks)
	cmd := exec.CommandContext(ctx, node, filepath.Base(f.Name()))
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node %s: %v\n%s", filepath.Base(f.Name()), err, stderr.String())
	}
	var results []struct {
		Name   string            `json:"name"`
		OK     bool              `json:"ok"`
		Header map[string]string `json:"header"`
		Error  string            `json:"error"`
	}
	if err := json.Unmarshal(out, &results); err != nil || len(results) != len(checks) {
		t.Fatalf("jose answered %s (%v), want %d results", out, err, len(checks))
	}
	for i, tt := range tests {
		r := results[i]
		if !r.OK {
			t.Errorf("%s: jose refused the assertion: %s", tt.name, r.Error)
			continue
		}
		want := map[string]string{"alg": tt.alg, "typ": "JWT"}
		for k, v := range tt.header {
			want[k] = v
		}
		if got, _ := json.Marshal(r.Header); string(got) != string(mustMarshal(want)) {
			t.Errorf("%s: header = %s, want %s", tt.name, got, mustMarshal(want))
		}
	}
	if last := results[len(results)-1]; last.OK || !strings.Contains(last.Error, "ERR_JWS_SIGNATURE_VERIFICATION_FAILED") {
		t.Errorf("tampered assertion: jose said ok=%v %q, want ERR_JWS_SIGNATURE_VERIFICATION_FAILED", last.OK, last.Error)
	}
}

func mustMarshal(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
