package secretstore_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/tokenrotator/tokenrotator/functions/integration"
	"github.com/tokenrotator/tokenrotator/functions/internal/secretstore"
	"github.com/tokenrotator/tokenrotator/infra/local/motoserver"
)

func TestDirectory(t *testing.T) {
	moto := motoserver.ForTest(t)
	sm := secretsmanager.NewFromConfig(moto.AWSConfig())
	ctx := context.Background()
	create := func(name string, tags ...types.Tag) string {
		t.Helper()
		out, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String("{}"), Tags: tags})
		if err != nil {
			t.Fatalf("CreateSecret(%s): %v", name, err)
		}
		return aws.ToString(out.ARN)
	}
	tag := func(k, v string) types.Tag { return types.Tag{Key: aws.String(k), Value: aws.String(v)} }
	creds := create("dir/creds/acme")
	acme := create("dir/integrations/acme", tag(integration.TagCredentials, creds))
	create("dir/integrations/untagged")
	create("dir/integrations/by-name", tag(integration.TagCredentials, "dir/creds/acme"))
	create("dir/integrations/Bad_Name", tag(integration.TagCredentials, creds))
	create("dir/integrations-elsewhere/x", tag(integration.TagCredentials, creds))
	create("other/dir/integrations/y", tag(integration.TagCredentials, creds))
	for i := range 150 { // more than a page
		create(fmt.Sprintf("dir/integrations/org-%03d", i), tag(integration.TagCredentials, creds))
	}

	d := secretstore.NewDirectory(sm)
	entries, err := d.List(ctx, "dir/integrations/")
	if err != nil {
		t.Fatalf("List() error = %v", err)
	}
	if len(entries) != 154 {
		t.Fatalf("List() = %d entries, want 154 (the 4 named above and 150 orgs, nothing outside the prefix)", len(entries))
	}
	byName := map[string]secretstore.Entry{}
	for _, e := range entries {
		byName[e.Name] = e
	}
	if e := byName["acme"]; e.TokenSecretID != acme || e.CredentialsSecretID != creds || e.Problem != "" {
		t.Errorf("acme = %+v, want its ARN, its credentials' ARN and no problem", e)
	}
	for name, want := range map[string]string{
		"untagged": "has no tokenrotator:credentials tag",
		"by-name":  "is not a full secret ARN",
		"Bad_Name": "is not valid",
	} {
		if p := byName[name].Problem; !strings.Contains(p, want) {
			t.Errorf("%s: Problem = %q, want it to contain %q", name, p, want)
		}
	}

	e, err := d.Lookup(ctx, "dir/integrations/", "acme")
	if err != nil || e.TokenSecretID != acme || e.CredentialsSecretID != creds {
		t.Errorf("Lookup(acme) = %+v, %v; want acme's ARNs", e, err)
	}
	if _, err := d.Lookup(ctx, "dir/integrations/", "nope"); err == nil || !strings.Contains(err.Error(), `integration "nope": there is no token secret "dir/integrations/nope"`) {
		t.Errorf("Lookup(nope) error = %v, want it named", err)
	}
}
