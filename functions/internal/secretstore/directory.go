package secretstore

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/tokenrotator/tokenrotator/functions/integration"
)

// Lister is the part of *secretsmanager.Client that a Directory calls.
type Lister interface {
	ListSecrets(ctx context.Context, in *secretsmanager.ListSecretsInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.ListSecretsOutput, error)
	DescribeSecret(ctx context.Context, in *secretsmanager.DescribeSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
}

// Directory finds the integrations added to a stack: the token secrets
// whose names start with a prefix (INTEGRATION_SECRET_PREFIX), each tagged
// with its credentials secret's ARN (integration.TagCredentials). It is
// safe for concurrent use.
type Directory struct {
	sm Lister
}

// NewDirectory returns a Directory that calls sm.
func NewDirectory(sm Lister) *Directory { return &Directory{sm: sm} }

// Entry is one integration found by a Directory.
type Entry struct {
	// Name is the token secret's name without the prefix.
	Name string
	// TokenSecretID is the token secret's ARN.
	TokenSecretID string
	// CredentialsSecretID is the ARN its TagCredentials tag names.
	CredentialsSecretID string
	// Problem says why the entry cannot be rotated (an invalid name, a
	// missing tag); empty when it can.
	Problem string
}

// listPage is the largest page ListSecrets returns.
const listPage = 100

// List returns every integration whose token secret's name starts with
// prefix, sorted by name: one ListSecrets call per 100 secrets. ListSecrets
// is eventually consistent: a token secret created moments ago may be
// missing, and one deleted moments ago may still be listed (its run then
// fails to read it).
func (d *Directory) List(ctx context.Context, prefix string) ([]Entry, error) {
	in := &secretsmanager.ListSecretsInput{
		MaxResults: aws.Int32(listPage),
		Filters:    []types.Filter{{Key: types.FilterNameStringTypeName, Values: []string{prefix}}},
	}
	var entries []Entry
	for {
		callCtx, cancel := bound(ctx)
		out, err := d.sm.ListSecrets(callCtx, in)
		cancel()
		if err != nil {
			return nil, callError("listing the token secrets named", prefix+"*", err)
		}
		for _, s := range out.SecretList {
			// The name filter matches more loosely than a prefix (words,
			// any case): keep exactly the names under the prefix.
			name, ok := strings.CutPrefix(aws.ToString(s.Name), prefix)
			if !ok || s.DeletedDate != nil {
				continue
			}
			entries = append(entries, entry(name, aws.ToString(s.ARN), s.Tags))
		}
		if aws.ToString(out.NextToken) == "" {
			break
		}
		in.NextToken = out.NextToken
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name < entries[j].Name })
	return entries, nil
}

// Lookup returns the integration name added under prefix, reading its token
// secret's tags with DescribeSecret, which unlike ListSecrets sees a secret
// created moments ago.
func (d *Directory) Lookup(ctx context.Context, prefix, name string) (Entry, error) {
	id := prefix + name
	callCtx, cancel := bound(ctx)
	defer cancel()
	out, err := d.sm.DescribeSecret(callCtx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(id)})
	if err != nil {
		var nf *types.ResourceNotFoundException
		if errors.As(err, &nf) {
			return Entry{}, fmt.Errorf("integration %q: there is no token secret %q (make integration-add creates it)", name, id)
		}
		return Entry{}, callError("describing token secret", id, err)
	}
	if out.DeletedDate != nil {
		return Entry{}, fmt.Errorf("integration %q: token secret %q is scheduled for deletion", name, id)
	}
	return entry(name, aws.ToString(out.ARN), out.Tags), nil
}

// secretARN matches a full secret ARN, with the 6-character suffix: the one
// spelling of a secret, so that two integrations cannot name one credentials
// secret in two ways.
var secretARN = regexp.MustCompile(`^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$`)

// IsFullARN reports whether id has the form of a full secret ARN, with its
// 6-character suffix. (A partial ARN of a secret whose name itself ends in
// a hyphen and 6 characters has that form too; AWS advises against such
// names for this reason.)
func IsFullARN(id string) bool { return secretARN.MatchString(id) }

// MayName reports whether id, a secret's name, partial ARN or full ARN,
// can name the secret whose full ARN is arn: id is arn, arn without its
// 6-character suffix (a partial ARN), or the name in it. It is the
// comparison to make when id cannot be read to learn its ARN, and errs
// towards "yes": a secret of the same name in another account or Region
// matches too.
func MayName(id, arn string) bool {
	if id == arn {
		return true
	}
	if !IsFullARN(arn) {
		return false
	}
	partial := arn[:len(arn)-len("-AbCdEf")]
	_, name, _ := strings.Cut(partial, ":secret:")
	return id == partial || id == name
}

func entry(name, arn string, tags []types.Tag) Entry {
	e := Entry{Name: name, TokenSecretID: arn}
	for _, t := range tags {
		if aws.ToString(t.Key) == integration.TagCredentials {
			e.CredentialsSecretID = aws.ToString(t.Value)
		}
	}
	switch {
	case integration.CheckName(name) != nil:
		e.Problem = integration.CheckName(name).Error()
	case e.CredentialsSecretID == "":
		e.Problem = fmt.Sprintf("token secret %q has no %s tag naming its credentials secret (make integration-add sets it)", arn, integration.TagCredentials)
	case !secretARN.MatchString(e.CredentialsSecretID):
		e.Problem = fmt.Sprintf("token secret %q: its %s tag is not a full secret ARN (arn:...:secret:NAME-XXXXXX); make integration-add sets it", arn, integration.TagCredentials)
	case e.CredentialsSecretID == arn:
		e.Problem = fmt.Sprintf("token secret %q names itself as its credentials secret", arn)
	}
	return e
}
