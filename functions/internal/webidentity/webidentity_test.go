package webidentity_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/tokenrotator/tokenrotator/functions/internal/webidentity"
	"github.com/tokenrotator/tokenrotator/infra/local/stsemu"
)

const role = "arn:aws:iam::123456789012:role/tokenrotator-RotatorRole"

func standIn(t *testing.T) (*stsemu.Server, *httptest.Server, *sts.Client) {
	t.Helper()
	emu, err := stsemu.New(stsemu.Config{Subject: role})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	client := sts.NewFromConfig(aws.Config{Region: "eu-west-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")},
		func(o *sts.Options) { o.BaseEndpoint = aws.String(srv.URL); o.RetryMaxAttempts = 1 })
	return emu, srv, client
}

// jwks reads the issuer's keys as a verifier does: discovery, then jwks_uri.
func jwks(t *testing.T, issuer string) map[string]crypto.PublicKey {
	t.Helper()
	get := func(u string, v any) {
		res, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if err := json.NewDecoder(res.Body).Decode(v); err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
	}
	var disc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	get(issuer+"/.well-known/openid-configuration", &disc)
	if disc.Issuer != issuer {
		t.Fatalf("discovery issuer = %q, want %q", disc.Issuer, issuer)
	}
	var set struct{ Keys []map[string]string }
	get(disc.JWKSURI, &set)
	keys := map[string]crypto.PublicKey{}
	num := func(s string) *big.Int {
		b, _ := base64.RawURLEncoding.DecodeString(s)
		return new(big.Int).SetBytes(b)
	}
	for _, k := range set.Keys {
		switch k["kty"] {
		case "RSA":
			keys[k["kid"]] = &rsa.PublicKey{N: num(k["n"]), E: int(num(k["e"]).Int64())}
		case "EC":
			x, _ := base64.RawURLEncoding.DecodeString(k["x"])
			y, _ := base64.RawURLEncoding.DecodeString(k["y"])
			pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P384(), append(append([]byte{4}, x...), y...))
			if err != nil {
				t.Fatalf("JWKS key %s: %v", k["kid"], err)
			}
			keys[k["kid"]] = pub
		}
	}
	return keys
}

func TestSourceGetsAVerifiableJWT(t *testing.T) {
	for _, alg := range []string{"RS256", "ES384"} {
		t.Run(alg, func(t *testing.T) {
			emu, srv, client := standIn(t)
			token := webidentity.Source(client, "api://AzureADTokenExchange", alg)
			first, err := token(context.Background())
			if err != nil {
				t.Fatalf("token() error = %v", err)
			}
			second, err := token(context.Background())
			if err != nil || second == first || emu.Calls() != 2 {
				t.Fatalf("second token() = same %v, %v after %d calls; want a new JWT per call", second == first, err, emu.Calls())
			}
			parts := strings.Split(first, ".")
			var header map[string]string
			var claims map[string]any
			for i, dst := range []any{&header, &claims} {
				raw, _ := base64.RawURLEncoding.DecodeString(parts[i])
				if err := json.Unmarshal(raw, dst); err != nil {
					t.Fatalf("part %d: %v", i, err)
				}
			}
			sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
			pub := jwks(t, srv.URL)[header["kid"]]
			signed := []byte(parts[0] + "." + parts[1])
			switch k := pub.(type) {
			case *rsa.PublicKey:
				d := sha256.Sum256(signed)
				err = rsa.VerifyPKCS1v15(k, crypto.SHA256, d[:], sig)
			case *ecdsa.PublicKey:
				d := sha512.Sum384(signed)
				if len(sig) != 96 || !ecdsa.Verify(k, d[:], new(big.Int).SetBytes(sig[:48]), new(big.Int).SetBytes(sig[48:])) {
					err = errInvalid
				}
			default:
				t.Fatalf("no JWKS key for kid %q", header["kid"])
			}
			if err != nil || header["alg"] != alg {
				t.Errorf("the %s JWT (alg %q) does not verify with the issuer's JWKS: %v", alg, header["alg"], err)
			}
			exp, iat := claims["exp"].(float64), claims["iat"].(float64)
			if claims["iss"] != srv.URL || claims["sub"] != role || claims["aud"] != "api://AzureADTokenExchange" ||
				time.Duration(exp-iat)*time.Second != webidentity.Lifetime {
				t.Errorf("claims = %v, want iss the issuer, sub the role, aud the audience, and a 5-minute life", claims)
			}
		})
	}
}

var errInvalid = errors.New("signature does not verify")

func TestSourceErrorsNameTheCall(t *testing.T) {
	emu, _, client := standIn(t)
	token := webidentity.Source(client, "api://AzureADTokenExchange", "RS256")
	emu.SetDown(http.StatusServiceUnavailable)
	_, err := token(context.Background())
	var api smithy.APIError
	if err == nil || err.Error() != `sts:GetWebIdentityToken (audience "api://AzureADTokenExchange", RS256): HTTP 503 ServiceUnavailable: Service is unable to handle request.` ||
		!errors.As(err, &api) || api.ErrorCode() != "ServiceUnavailable" {
		t.Errorf("token() with STS down error = %v, want the call, the audience and STS's ServiceUnavailable", err)
	}
	emu.SetDown(0)
	emu.SetDisabled(true)
	if _, err = token(context.Background()); err == nil || !strings.Contains(err.Error(), "OutboundWebIdentityFederationDisabledException") {
		t.Errorf("token() with federation disabled error = %v, want STS's OutboundWebIdentityFederationDisabledException", err)
	}
	emu.SetDisabled(false)
	if _, err = webidentity.Source(client, "api://AzureADTokenExchange", "PS256")(context.Background()); err == nil ||
		!strings.Contains(err.Error(), "ValidationError") {
		t.Errorf("token(PS256) error = %v, want STS's ValidationError", err)
	}
}

// TestTheSDKUsesTheRegionalEndpoint: GetWebIdentityToken is not served by
// the global endpoint (sts.amazonaws.com); the SDK's default resolves the
// client's region's own.
func TestTheSDKUsesTheRegionalEndpoint(t *testing.T) {
	for _, region := range []string{"eu-west-1", "us-east-1"} {
		ep, err := sts.NewDefaultEndpointResolverV2().ResolveEndpoint(context.Background(), sts.EndpointParameters{Region: aws.String(region)})
		if err != nil {
			t.Fatal(err)
		}
		if want := "https://sts." + region + ".amazonaws.com"; ep.URI.String() != want {
			t.Errorf("STS endpoint in %s = %s, want %s", region, ep.URI.String(), want)
		}
	}
}
