package ops

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/tokenrotator/tokenrotator/functions/integration"
	"github.com/tokenrotator/tokenrotator/functions/kmssign"
)

// The key specs make signing-key creates: RSA 2048 (RS256 or PS256), the
// default, and P-256 (ES256).
const (
	SpecRSA2048 = string(types.KeySpecRsa2048)
	SpecP256    = string(types.KeySpecEccNistP256)
)

// CertValidity is how long the certificate make signing-key prints is
// valid: a year, after which Entra ID refuses it (make a new key then).
const CertValidity = 365 * 24 * time.Hour

// MaxSigningKeyName is the longest signing key name.
const MaxSigningKeyName = 40

// SigningKeyAPI is the part of *kms.Client that CreateSigningKey calls.
type SigningKeyAPI interface {
	kmssign.API
	DescribeKey(ctx context.Context, in *kms.DescribeKeyInput, opts ...func(*kms.Options)) (*kms.DescribeKeyOutput, error)
	CreateKey(ctx context.Context, in *kms.CreateKeyInput, opts ...func(*kms.Options)) (*kms.CreateKeyOutput, error)
	CreateAlias(ctx context.Context, in *kms.CreateAliasInput, opts ...func(*kms.Options)) (*kms.CreateAliasOutput, error)
	DeleteAlias(ctx context.Context, in *kms.DeleteAliasInput, opts ...func(*kms.Options)) (*kms.DeleteAliasOutput, error)
	ScheduleKeyDeletion(ctx context.Context, in *kms.ScheduleKeyDeletionInput, opts ...func(*kms.Options)) (*kms.ScheduleKeyDeletionOutput, error)
}

// SigningKey is what CreateSigningKey made, and what each provider
// registers. Nothing in it is private: the private key never leaves KMS.
type SigningKey struct {
	// Stack is the stack whose rotator may sign with the key: the value of
	// its tokenrotator:stack tag.
	Stack string
	// KeyARN is the KMS key's ARN; AliasARN is that of its alias
	// alias/<stack>/<name>, what SIGNING_KEY takes.
	KeyARN, AliasARN string
	// Spec is the key spec, SpecRSA2048 or SpecP256.
	Spec string
	// JWK is the public key as a JSON Web Key (RFC 7517) with "use":"sig"
	// and KeyID as its kid: what Okta, Auth0 and Keycloak register.
	JWK string
	// KeyID is the JWK's RFC 7638 thumbprint (base64url SHA-256), its kid
	// and SIGNING_KEY_ID.
	KeyID string
	// PublicKeyPEM is the public key as a PEM "PUBLIC KEY" (PKIX), for a
	// provider that takes PEM.
	PublicKeyPEM string
	// CertificatePEM is a self-signed X.509 certificate of the key, signed
	// through KMS: what Entra ID registers. NotAfter is its end.
	CertificatePEM string
	NotAfter       time.Time
	// CertSHA256 and CertSHA1 are the certificate DER's thumbprints in
	// lower-case hex: SIGNING_CERT_SHA256 and SIGNING_CERT_SHA1.
	CertSHA256, CertSHA1 string
}

var (
	signingKeyName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	stackName      = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{0,127}$`)
)

// CheckSigningKeyRequest checks a stack name, a key name and a spec as
// CreateSigningKey takes them, naming every problem.
func CheckSigningKeyRequest(stack, name, spec string) error {
	var problems []string
	if !stackName.MatchString(stack) {
		problems = append(problems, fmt.Sprintf("stack name %q is not valid: want a letter, then letters, digits or hyphens, at most 128 (make: STACK_NAME)", stack))
	}
	if !signingKeyName.MatchString(name) || len(name) > MaxSigningKeyName {
		problems = append(problems, fmt.Sprintf("key name %q is not valid: want 1 to %d lower-case letters, digits or hyphens, starting with a letter or digit, such as okta-2026 (make: NAME)", name, MaxSigningKeyName))
	}
	if spec != SpecRSA2048 && spec != SpecP256 {
		problems = append(problems, fmt.Sprintf("key spec %q is not %s (RS256, PS256; Entra ID) or %s (ES256) (make: SPEC)", spec, SpecRSA2048, SpecP256))
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// SigningKeyAlias is the alias name of the signing key name of stack.
func SigningKeyAlias(stack, name string) string { return "alias/" + stack + "/" + name }

// CreateSigningKey creates a KMS key for signing client assertions
// (SIGN_VERIFY, spec RSA_2048 or ECC_NIST_P256) tagged
// tokenrotator:stack=<stack>, which lets the stack's rotator sign with it,
// and the alias alias/<stack>/<name>; then it reads the public key and has
// KMS sign a self-signed certificate of it, valid from now for
// CertValidity. It refuses an alias that exists. When a step after
// CreateKey fails, it deletes the alias and schedules the key's deletion
// (7 days, the least KMS allows), and says so.
func CreateSigningKey(ctx context.Context, api SigningKeyAPI, stack, name, spec string, now time.Time) (SigningKey, error) {
	if err := CheckSigningKeyRequest(stack, name, spec); err != nil {
		return SigningKey{}, err
	}
	alias := SigningKeyAlias(stack, name)
	_, err := api.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(alias)})
	var notFound *types.NotFoundException
	switch {
	case err == nil:
		return SigningKey{}, fmt.Errorf("%s exists already: give another NAME (a new key is a new name, such as okta-2027)", alias)
	case !errors.As(err, &notFound):
		return SigningKey{}, fmt.Errorf("looking for %s: %w", alias, err)
	}
	created, err := api.CreateKey(ctx, &kms.CreateKeyInput{
		KeySpec:     types.KeySpec(spec),
		KeyUsage:    types.KeyUsageTypeSignVerify,
		Description: aws.String(fmt.Sprintf("tokenrotator signing key %s of stack %s: signs private_key_jwt client assertions", name, stack)),
		Tags:        []types.Tag{{TagKey: aws.String(integration.TagStack), TagValue: aws.String(stack)}},
	})
	if err != nil {
		return SigningKey{}, fmt.Errorf("creating the KMS key: %w", err)
	}
	keyARN, keyID := aws.ToString(created.KeyMetadata.Arn), aws.ToString(created.KeyMetadata.KeyId)
	aliasMade := false
	undo := func(cause error) error {
		var failed []string
		if aliasMade {
			if _, err := api.DeleteAlias(ctx, &kms.DeleteAliasInput{AliasName: aws.String(alias)}); err != nil {
				failed = append(failed, fmt.Sprintf("deleting %s: %v", alias, err))
			}
		}
		// by its id: moto_server takes no ARN here
		if _, err := api.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(keyID), PendingWindowInDays: aws.Int32(7)}); err != nil {
			failed = append(failed, fmt.Sprintf("scheduling the deletion of %s: %v", keyARN, err))
		}
		if len(failed) > 0 {
			return fmt.Errorf("%w; undoing failed too, remove by hand: %s", cause, strings.Join(failed, "; "))
		}
		return fmt.Errorf("%w; the new key %s is scheduled for deletion in 7 days", cause, keyARN)
	}
	if _, err := api.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(alias), TargetKeyId: aws.String(keyARN)}); err != nil {
		return SigningKey{}, undo(fmt.Errorf("creating %s: %w", alias, err))
	}
	aliasMade = true
	k, err := describe(ctx, api, keyARN, stack, name, now)
	if err != nil {
		return SigningKey{}, undo(err)
	}
	k.Stack, k.KeyARN, k.AliasARN, k.Spec = stack, keyARN, aliasARN(keyARN, alias), spec
	return k, nil
}

// aliasARN is the ARN of alias, in the account and Region of keyARN.
func aliasARN(keyARN, alias string) string {
	if i := strings.LastIndex(keyARN, ":key/"); i >= 0 {
		return keyARN[:i+1] + alias
	}
	return alias
}

// describe reads the public key of keyARN and makes its JWK and
// certificate, the certificate signed through KMS.
func describe(ctx context.Context, api kmssign.API, keyARN, stack, name string, now time.Time) (SigningKey, error) {
	signer, err := kmssign.New(ctx, api, keyARN)
	if err != nil {
		return SigningKey{}, err
	}
	jwk, kid, err := PublicJWK(signer.Public())
	if err != nil {
		return SigningKey{}, err
	}
	spki, err := x509.MarshalPKIXPublicKey(signer.Public())
	if err != nil {
		return SigningKey{}, fmt.Errorf("encoding the public key: %w", err)
	}
	der, notAfter, err := selfSigned(signer, "tokenrotator "+stack+"/"+name, now)
	if err != nil {
		return SigningKey{}, err
	}
	s256, s1 := sha256.Sum256(der), sha1.Sum(der)
	return SigningKey{
		JWK:            jwk,
		KeyID:          kid,
		PublicKeyPEM:   string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki})),
		CertificatePEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		NotAfter:       notAfter,
		CertSHA256:     hex.EncodeToString(s256[:]),
		CertSHA1:       hex.EncodeToString(s1[:]),
	}, nil
}

// selfSigned returns a self-signed certificate of signer's public key
// named cn, valid from five minutes before now (for clocks behind) for
// CertValidity, signed by signer (SHA-256 with RSA PKCS #1 v1.5, or ECDSA).
func selfSigned(signer crypto.Signer, cn string, now time.Time) ([]byte, time.Time, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("making the certificate's serial number: %w", err)
	}
	notAfter := now.Add(CertValidity).UTC().Truncate(time.Second)
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             now.Add(-5 * time.Minute).UTC().Truncate(time.Second),
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, signer.Public(), signer)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("signing the certificate through KMS: %w", err)
	}
	return der, notAfter, nil
}

// PublicJWK returns pub (RSA, or ECDSA on P-256) as a JWK with "use":"sig"
// and its RFC 7638 thumbprint as "kid", and that kid.
func PublicJWK(pub crypto.PublicKey) (jwk, kid string, err error) {
	b64 := base64.RawURLEncoding.EncodeToString
	// members are the required members of the key type, in the
	// lexicographic order RFC 7638 section 3.2 hashes them in.
	var members [][2]string
	switch k := pub.(type) {
	case *rsa.PublicKey:
		members = [][2]string{{"e", b64(big.NewInt(int64(k.E)).Bytes())}, {"kty", "RSA"}, {"n", b64(k.N.Bytes())}}
	case *ecdsa.PublicKey:
		if k.Curve.Params().Name != "P-256" {
			return "", "", fmt.Errorf("the public key is ECDSA on %s, want P-256", k.Curve.Params().Name)
		}
		raw, err := k.Bytes() // 0x04 || X || Y, each 32 bytes
		if err != nil {
			return "", "", fmt.Errorf("encoding the public key: %w", err)
		}
		members = [][2]string{{"crv", "P-256"}, {"kty", "EC"}, {"x", b64(raw[1:33])}, {"y", b64(raw[33:])}}
	default:
		return "", "", fmt.Errorf("the public key is a %T, want RSA or P-256", pub)
	}
	object := func(extra ...[2]string) string {
		var b strings.Builder
		b.WriteByte('{')
		for i, m := range append(members, extra...) {
			if i > 0 {
				b.WriteByte(',')
			}
			k, _ := json.Marshal(m[0])
			v, _ := json.Marshal(m[1])
			b.Write(k)
			b.WriteByte(':')
			b.Write(v)
		}
		b.WriteByte('}')
		return b.String()
	}
	sum := sha256.Sum256([]byte(object()))
	kid = b64(sum[:])
	return object([2]string{"kid", kid}, [2]string{"use", "sig"}), kid, nil
}

// Print writes what each provider registers and the settings to deploy
// with, for a person to copy; nothing in it is secret.
func (k SigningKey) Print(w io.Writer) {
	fmt.Fprintf(w, "KMS key %s (%s, SIGN_VERIFY), tagged %s=%s\nalias   %s\n", k.KeyARN, k.Spec, integration.TagStack, k.Stack, k.AliasARN)
	fmt.Fprintf(w, "\nOkta, Auth0, Keycloak: register this public JWK (its kid is its RFC 7638 thumbprint):\n%s\n", k.JWK)
	fmt.Fprintf(w, "\nWhere a PEM public key is asked for instead (Auth0, Keycloak):\n%s", k.PublicKeyPEM)
	who := "Entra ID (Keycloak takes it too)"
	if k.Spec != SpecRSA2048 {
		who = "Keycloak (Entra ID wants an RSA key: SPEC=" + SpecRSA2048 + ")"
	}
	fmt.Fprintf(w, "\n%s: upload this certificate, self-signed through KMS, valid until %s:\n%s", who, k.NotAfter.Format(time.DateOnly), k.CertificatePEM)
	fmt.Fprintf(w, "SHA-256 thumbprint %s\nSHA-1 thumbprint   %s (Entra's portal shows it in capitals)\n", k.CertSHA256, k.CertSHA1)
	fmt.Fprintf(w, "\nSettings: parameter_overrides of make deploy (%s), or the fields of an added integration's credentials secret:\n", SAMConfigLocalHint)
	for _, s := range k.Settings() {
		fmt.Fprintf(w, "  %-28s %s\n", s.Provider+":", s.Parameters)
		fmt.Fprintf(w, "  %-28s %s\n", "", s.Fields)
	}
}

// SAMConfigLocalHint names the file that holds make deploy's parameters.
const SAMConfigLocalHint = "infra/samconfig.local.toml"

// KeySettings are the settings of one way to use a signing key: as the
// template's parameters, and as the fields of a credentials secret.
type KeySettings struct {
	// Provider says for which providers and header form.
	Provider string
	// Parameters is a parameter_overrides line: Name=value, by spaces.
	Parameters string
	// Fields is a JSON object's members, without braces.
	Fields string
}

// Settings returns the settings k is used with: with its kid (Okta, Auth0,
// Keycloak); for an RSA key, with the certificate's x5t#S256 and PS256,
// and with the older x5t and RS256 (Entra ID).
func (k SigningKey) Settings() []KeySettings {
	one := func(provider string, pairs ...[2]string) KeySettings {
		pairs = append([][2]string{{"TokenAuth", "private_key_jwt"}, {"SigningKey", k.AliasARN}}, pairs...)
		var params, fields []string
		for _, p := range pairs {
			params = append(params, p[0]+"="+p[1])
			fields = append(fields, fmt.Sprintf("%q: %q", settingField(p[0]), p[1]))
		}
		return KeySettings{Provider: provider, Parameters: strings.Join(params, " "), Fields: strings.Join(fields, ", ")}
	}
	out := []KeySettings{one("Okta, Auth0, Keycloak", [2]string{"SigningKeyId", k.KeyID})}
	if k.Spec == SpecRSA2048 {
		out = append(out,
			one("Entra ID, x5t#S256", [2]string{"SigningAlg", "PS256"}, [2]string{"SigningCertSha256", k.CertSHA256}),
			one("Entra ID, x5t (older)", [2]string{"SigningAlg", "RS256"}, [2]string{"SigningCertSha1", k.CertSHA1}))
	}
	return out
}

// settingField is the credentials secret's field of a template parameter:
// SigningCertSha256 is signing_cert_sha256.
func settingField(param string) string {
	var b strings.Builder
	for i, r := range param {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte('_')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}
