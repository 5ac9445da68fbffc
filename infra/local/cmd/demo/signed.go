package main

import (
	"context"
	"crypto/x509"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/tokenrotator/tokenrotator/infra/local/imsemu"
	"github.com/tokenrotator/tokenrotator/infra/local/stack"
)

// signedMember is the fleet's private_key_jwt integration: a KMS key in
// moto_server (RSA 2048, for signing, tagged for the stack as the role's
// kms:Sign grant wants) signs its assertions, and an Okta emulator holds
// the client, registered with the key's public half and its kid. Its
// credentials secret has no client secret: only the client id and the
// settings that name the key.
func signedMember(ctx context.Context, st *stack.Stack) (member, error) {
	km := kms.NewFromConfig(st.Moto.AWSConfig())
	key, err := km.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: types.KeySpecRsa2048, KeyUsage: types.KeyUsageTypeSignVerify,
		Description: aws.String("signs the signed integration's client assertions (make run)"),
		Tags:        []types.Tag{{TagKey: aws.String("tokenrotator:stack"), TagValue: aws.String(stack.FunctionName)}}})
	if err != nil {
		return member{}, fmt.Errorf("creating the signing key in moto_server: %w", err)
	}
	arn := aws.ToString(key.KeyMetadata.Arn)
	out, err := km.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: aws.String(arn)})
	if err != nil {
		return member{}, fmt.Errorf("reading the signing key's public key: %w", err)
	}
	pub, err := x509.ParsePKIXPublicKey(out.PublicKey)
	if err != nil {
		return member{}, fmt.Errorf("parsing the signing key's public key: %w", err)
	}
	const kid = "make-run-1"
	okta, _ := imsemu.ProfileNamed("okta")
	// Okta's default is an hour; an access policy rule can set up to a day,
	// which outlives the stack's schedule, as make status wants.
	okta.ExpiresIn = 86400
	prov, err := st.StartProvider(okta, map[string]imsemu.Client{"signed-client": {PublicKey: pub, KeyID: kid, Scopes: []string{"reports.read"}}})
	if err != nil {
		return member{}, err
	}
	return member{name: "signed", short: "Okta-like, private_key_jwt: a KMS key signs, no client secret",
		about: "Okta-like, on a third token endpoint (" + prov.TokenURL() + `), private_key_jwt: the assertion signed by KMS key ` + arn +
			`, whose public key the client registered under kid ` + kid + `; credentials {"client_id", "token_url", "scope", "token_auth": "private_key_jwt", "signing_key", "signing_key_id"}, no client_secret`,
		credentials: map[string]string{"client_id": "signed-client", "token_url": prov.TokenURL(), "scope": "reports.read",
			"token_auth": "private_key_jwt", "signing_key": arn, "signing_key_id": kid}}, nil
}
