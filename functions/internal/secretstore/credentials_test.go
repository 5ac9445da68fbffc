package secretstore_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/tokenrotator/tokenrotator/functions/internal/secretstore"
	"github.com/tokenrotator/tokenrotator/infra/local/motoserver"
)

// writtenOnce plays Secrets Manager's rule that a version's value is
// written once (another value: ResourceExistsException), which moto 5.2.1
// does not keep for an AWSPENDING version.
type writtenOnce struct {
	*secretsmanager.Client
	mu     sync.Mutex
	values map[string]string
}

func (w *writtenOnce) PutSecretValue(ctx context.Context, in *secretsmanager.PutSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error) {
	w.mu.Lock()
	key := aws.ToString(in.SecretId) + " " + aws.ToString(in.ClientRequestToken)
	if v, ok := w.values[key]; ok && in.ClientRequestToken != nil && v != aws.ToString(in.SecretString) {
		w.mu.Unlock()
		return nil, &types.ResourceExistsException{Message: aws.String("You can't use ClientRequestToken " + aws.ToString(in.ClientRequestToken) + " (emulated)")}
	}
	w.values[key] = aws.ToString(in.SecretString)
	w.mu.Unlock()
	return w.Client.PutSecretValue(ctx, in, opts...)
}

// TestCredentialStore writes a whole value as a pending version, reads it
// back, tags, lists by tag key and untags, against moto_server.
func TestCredentialStore(t *testing.T) {
	srv := motoserver.ForTest(t)
	sm := secretsmanager.NewFromConfig(srv.AWSConfig())
	s := secretstore.NewCredentialStore(&writtenOnce{Client: sm, values: map[string]string{}})
	ctx := context.Background()
	cur := `{"client_id":"c","client_secret":"` + sentinel + `"}`
	create(t, sm, "app/credentials", &cur)
	create(t, sm, "app/other", aws.String(`{}`))
	create(t, sm, "app/taggedlike", aws.String(`{}`))

	value, version, found, err := s.ReadVersion(ctx, "app/credentials", "", secretstore.StageCurrent)
	if err != nil || !found || value != cur || version == "" {
		t.Fatalf("ReadVersion(AWSCURRENT) = found %v, version %q, %v; want the value", found, version, err)
	}
	const pending = "11111111-2222-4333-8444-555555555555"
	if _, _, found, err := s.ReadVersion(ctx, "app/credentials", pending, secretstore.StagePending); err != nil || found {
		t.Fatalf("ReadVersion(a version that does not exist) = found %v, %v; want not found, no error", found, err)
	}
	next := `{"client_id":"c","client_secret":"new-` + sentinel + `","unknown":{"kept":true}}`
	for range 2 { // the same value twice: a duplicate delivery
		if err := s.WriteVersion(ctx, "app/credentials", pending, "", next); err != nil {
			t.Fatalf("WriteVersion() = %v", err)
		}
	}
	err = s.WriteVersion(ctx, "app/credentials", pending, "", `{"client_id":"c","client_secret":"other"}`)
	if !errors.Is(err, secretstore.ErrVersionExists) || strings.Contains(err.Error(), sentinel) {
		t.Fatalf("WriteVersion(another value) = %v, want ErrVersionExists without the value", err)
	}
	if got, _, found, err := s.ReadVersion(ctx, "app/credentials", pending, secretstore.StagePending); err != nil || !found || got != next {
		t.Fatalf("ReadVersion(AWSPENDING) = found %v, %v; want the value written", found, err)
	}
	if err := s.MakeCurrent(ctx, "app/credentials", pending, version); err != nil {
		t.Fatal(err)
	}

	const key = "tokenrotator:client-secret-switch"
	if err := s.Tag(ctx, "app/credentials", key, pending+" 2026-01-02T03:04:05Z"); err != nil {
		t.Fatal(err)
	}
	if _, err := sm.TagResource(ctx, &secretsmanager.TagResourceInput{SecretId: aws.String("app/taggedlike"),
		Tags: []types.Tag{{Key: aws.String(key + "-not"), Value: aws.String("x")}}}); err != nil {
		t.Fatal(err)
	}
	got, err := s.ListTagged(ctx, key)
	if err != nil || len(got) != 1 || got[0].Name != "app/credentials" || got[0].Value != pending+" 2026-01-02T03:04:05Z" {
		t.Fatalf("ListTagged() = %+v, %v; want app/credentials with its value only", got, err)
	}
	for range 2 { // a tag already gone is no error
		if err := s.Untag(ctx, "app/credentials", key); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := s.ListTagged(ctx, key); err != nil || len(got) != 0 {
		t.Fatalf("ListTagged() after Untag = %+v, %v; want none", got, err)
	}
	err = s.MakeCurrent(ctx, "app/credentials", "nope-nope-nope-nope-nope-nope-nope", pending)
	if err == nil || !strings.Contains(err.Error(), "of credentials secret") {
		t.Errorf("MakeCurrent(a missing version) = %v, want an error naming the credentials secret", err)
	}
}
