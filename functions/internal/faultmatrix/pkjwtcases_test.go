package faultmatrix

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/tokenrotator/tokenrotator/functions/internal/config"
	"github.com/tokenrotator/tokenrotator/infra/local/faultproxy"
)

// pkjwtCases are the faults of a private_key_jwt integration: at KMS,
// which signs its assertions (each call through the fault proxy), at the
// provider, which verifies them, and in its credentials secret. None writes
// a token, and no assertion or signature shows anywhere (leaks).
func pkjwtCases() []matrixCase {
	const area = "private_key_jwt"
	notSent := "token request not sent: "
	kmsFault := func(name string, f faultproxy.Fault, at call, times int, want outcome, sees string, requests int) matrixCase {
		return matrixCase{name: name, area: area, signing: &signing{}, sm: &f, smAt: at, smTimes: times,
			want: []outcome{want}, sees: sees, tokenRequests: requests}
	}
	return []matrixCase{
		{name: "private_key_jwt, RSA key in KMS", area: area, signing: &signing{}, want: []outcome{rotated}, sees: seesStored, tokenRequests: 1},
		kmsFault("KMS AccessDenied at Sign", faultproxy.AccessDenied(), signAssertion, 0, failed,
			notSent+"signing the client assertion (RS256): KMS key \"$SIGNING_KEY\": operation error KMS: Sign, https response error StatusCode: 400, … AccessDeniedException: User is not authorized", none),
		kmsFault("KMS AccessDenied at GetPublicKey", faultproxy.AccessDenied(), readPublicKey, 0, failed,
			notSent+"loading the signing key: reading the public key of KMS key \"$SIGNING_KEY\": operation error KMS: GetPublicKey, … AccessDeniedException: User is not authorized", none),
		kmsFault("KMS Throttling once at Sign", faultproxy.Throttling(), signAssertion, 1, retried, seesStored, 1),
		kmsFault("KMS Throttling at Sign", faultproxy.Throttling(), signAssertion, 0, failed,
			notSent+"signing the client assertion (RS256): KMS key \"$SIGNING_KEY\": operation error KMS: Sign, exceeded maximum number of attempts, 3, … ThrottlingException", none),
		{name: "KMS key disabled", area: area, signing: &signing{disabled: true}, want: []outcome{failed}, tokenRequests: none,
			sees: notSent + "loading the signing key: reading the public key of KMS key \"$SIGNING_KEY\": … DisabledException"},
		{name: "KMS key for ENCRYPT_DECRYPT", area: area, signing: &signing{usage: types.KeyUsageTypeEncryptDecrypt}, want: []outcome{failed}, tokenRequests: none,
			sees: notSent + "loading the signing key: KMS key \"$SIGNING_KEY\" has usage ENCRYPT_DECRYPT, want SIGN_VERIFY"},
		{name: "KMS key ECC_SECG_P256K1", area: area, signing: &signing{spec: types.KeySpecEccSecgP256k1}, want: []outcome{failed}, tokenRequests: none,
			sees: notSent + "loading the signing key: KMS key \"$SIGNING_KEY\": its public key does not parse"},
		{name: "KMS key P-256 with SIGNING_ALG PS256", area: area, signing: &signing{spec: types.KeySpecEccNistP256},
			env: map[string]string{config.EnvSigningAlg: "PS256"}, want: []outcome{failed}, tokenRequests: none,
			sees: notSent + "PS256 needs an RSA key, the signing key is P-256 (ES256)"},
		{name: "replayed assertion", area: area, signing: &signing{replay: true}, event: forced, deliveries: 2,
			want: []outcome{rotated, failed}, tokenRequests: 2,
			sees: "token endpoint refused the request: HTTP 400: invalid_client (client assertion refused: jti was already used)"},
		{name: "provider clock ahead", area: area, signing: &signing{clock: 6 * time.Minute}, want: []outcome{failed}, tokenRequests: 1,
			sees: "token endpoint refused the request: HTTP 400: invalid_client (client assertion refused: the assertion expired)"},
		{name: "provider clock behind", area: area, signing: &signing{clock: -2 * time.Minute}, want: []outcome{failed}, tokenRequests: 1,
			sees: "token endpoint refused the request: HTTP 400: invalid_client (client assertion refused: nbf is ahead of the server's clock)"},
		{name: "assertion audience refused", area: area, signing: &signing{audience: "https://issuer.example/oauth2/default"},
			want: []outcome{failed}, tokenRequests: 1,
			sees: "token endpoint refused the request: HTTP 400: invalid_client (client assertion refused: aud is not https://issuer.example/oauth2/default)"},
		{name: "ASSERTION_AUDIENCE the provider's issuer", area: area, signing: &signing{audience: "https://issuer.example/oauth2/default"},
			env: map[string]string{config.EnvAssertionAudience: "https://issuer.example/oauth2/default"}, want: []outcome{rotated}, tokenRequests: 1, sees: seesStored},
		{name: "credentials secret with a key and a secret", area: area, signing: &signing{alsoSecret: true}, want: []outcome{failed}, tokenRequests: none,
			sees: `credentials secret "app/credentials": holds a "client_secret", but token_auth is private_key_jwt, which sends none: ambiguous`},
	}
}
