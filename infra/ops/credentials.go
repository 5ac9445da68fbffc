package ops

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// DefaultCredentialsName is the credentials secret make credentials
// creates when given no name.
const DefaultCredentialsName = "tokenrotator/adobe-credentials"

// CredentialsAPI is the part of *secretsmanager.Client that StoreCredentials
// calls.
type CredentialsAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	CreateSecret(ctx context.Context, in *secretsmanager.CreateSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error)
	PutSecretValue(ctx context.Context, in *secretsmanager.PutSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error)
}

// StoredCredentials says what StoreCredentials did.
type StoredCredentials struct {
	// ARN is the credentials secret's full ARN: make deploy's CREDENTIALS.
	ARN string
	// Created is true for a new secret, false for a new version of one.
	Created bool
}

// StoreCredentials writes clientID and clientSecret to the credentials
// secret name: a new secret (encrypted with kmsKey, or aws/secretsmanager
// when empty), or a new version of an existing one that keeps its other
// fields (an integration's settings) and their spelling (a managed external
// secret's clientId and clientSecret). It refuses an existing value that is
// not a JSON object rather than overwrite it. No error carries the secret.
func StoreCredentials(ctx context.Context, api CredentialsAPI, name, kmsKey, clientID, clientSecret string) (StoredCredentials, error) {
	if strings.TrimSpace(clientID) == "" || strings.TrimSpace(clientSecret) == "" {
		return StoredCredentials{}, errors.New("the client ID and the client secret must both be non-empty")
	}
	cur, err := api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
	var notFound *smtypes.ResourceNotFoundException
	if errors.As(err, &notFound) {
		value, _ := json.Marshal(map[string]string{"client_id": clientID, "client_secret": clientSecret})
		in := &secretsmanager.CreateSecretInput{
			Name:         aws.String(name),
			Description:  aws.String("OAuth client credentials read by tokenrotator"),
			SecretString: aws.String(string(value)),
		}
		if kmsKey != "" {
			in.KmsKeyId = aws.String(kmsKey)
		}
		out, err := api.CreateSecret(ctx, in)
		if err != nil {
			return StoredCredentials{}, fmt.Errorf("creating credentials secret %q: %w", name, err)
		}
		return StoredCredentials{ARN: aws.ToString(out.ARN), Created: true}, nil
	}
	if err != nil {
		return StoredCredentials{}, fmt.Errorf("reading credentials secret %q: %w", name, err)
	}
	fields := map[string]json.RawMessage{}
	if err := json.Unmarshal([]byte(aws.ToString(cur.SecretString)), &fields); err != nil || fields == nil {
		return StoredCredentials{}, fmt.Errorf("credentials secret %q holds something other than a JSON object; not overwriting it: give another name", name)
	}
	// A managed external secret (OktaOAuthClientSecret,
	// SalesforceClientSecret) spells them clientId and clientSecret: write
	// those, since a value with both spellings is refused by every run.
	idKey, secretKey := "client_id", "client_secret"
	if _, managed := fields["clientId"]; managed {
		idKey = "clientId"
	}
	if _, managed := fields["clientSecret"]; managed {
		secretKey = "clientSecret"
	}
	fields[idKey], _ = json.Marshal(clientID)
	fields[secretKey], _ = json.Marshal(clientSecret)
	value, _ := json.Marshal(fields)
	if _, err := api.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: cur.ARN, SecretString: aws.String(string(value))}); err != nil {
		return StoredCredentials{}, fmt.Errorf("writing credentials secret %q: %w", name, err)
	}
	return StoredCredentials{ARN: aws.ToString(cur.ARN)}, nil
}

// Prompt asks for the client ID (echoed) and the client secret (read by
// readSecret, which keeps it off the screen when in is a terminal), on out.
// Each answer is one line.
func Prompt(in *bufio.Reader, out io.Writer, readSecret func() (string, error)) (clientID, clientSecret string, err error) {
	fmt.Fprint(out, "Client ID: ")
	clientID, err = in.ReadString('\n')
	if err != nil && (err != io.EOF || clientID == "") {
		return "", "", fmt.Errorf("reading the client ID: %w", err)
	}
	fmt.Fprint(out, "Client secret (not shown): ")
	clientSecret, err = readSecret()
	fmt.Fprintln(out)
	if err != nil {
		return "", "", fmt.Errorf("reading the client secret: %w", err)
	}
	return strings.TrimSpace(clientID), strings.TrimSpace(clientSecret), nil
}
