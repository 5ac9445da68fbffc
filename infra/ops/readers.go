package ops

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/tokenrotator/tokenrotator/functions/integration"
)

// NoReaders is what READERS (and -readers) say to remove every grant.
const NoReaders = "none"

// ReaderPolicySid is the Sid of the one statement of a token secret's
// resource policy.
const ReaderPolicySid = "IntegrationTokenReaders"

// maxPolicySize is the most characters a secret's resource policy may hold.
const maxPolicySize = 20480

// readerRE matches the principals a token secret may name: an IAM role or
// user (with its path), or an account's root, which hands the grant to that
// account's own IAM policies. Session ARNs (sts:...:assumed-role/...) and
// wildcards are not principals a grant should name.
var readerRE = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:(root|(role|user)/([\w+=,.@-]+/)*[\w+=,.@-]{1,64})$`)

// CheckReader returns an error unless s is the ARN of an IAM role, an IAM
// user or an account's root.
func CheckReader(s string) error {
	if !readerRE.MatchString(s) {
		return fmt.Errorf("reader %q is not an IAM role, user or account root ARN: want arn:aws:iam::123456789012:role/NAME (with its path, if any), arn:aws:iam::123456789012:user/NAME or arn:aws:iam::123456789012:root", s)
	}
	return nil
}

// ParseReaders parses READERS: principal ARNs separated by commas, or
// NoReaders, which gives an empty, non-nil list. It checks every ARN
// (CheckReader) and names each bad one; the list it returns is sorted and
// has no duplicates.
func ParseReaders(s string) ([]string, error) {
	s = strings.TrimSpace(s)
	switch s {
	case "":
		return nil, fmt.Errorf("readers are empty: want IAM principal ARNs separated by commas, or %s", NoReaders)
	case NoReaders:
		return []string{}, nil
	}
	readers := strings.Split(s, ",")
	for i := range readers {
		readers[i] = strings.TrimSpace(readers[i])
	}
	if err := checkReaders(readers); err != nil {
		return nil, err
	}
	slices.Sort(readers)
	return slices.Compact(readers), nil
}

// checkReaders returns one error naming every reader that CheckReader
// refuses.
func checkReaders(readers []string) error {
	var bad []string
	for _, r := range readers {
		if err := CheckReader(r); err != nil {
			bad = append(bad, err.Error())
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%s (nothing was changed)", strings.Join(bad, "; "))
	}
	return nil
}

// ReaderPolicy returns the resource policy of a token secret that lets
// exactly readers (principal ARNs, at least one) read its value: one
// statement, Allow secretsmanager:GetSecretValue to them, on "*", which in a
// secret's resource policy is the secret itself.
func ReaderPolicy(readers []string) (string, error) {
	if len(readers) == 0 {
		return "", fmt.Errorf("a reader policy needs at least one reader")
	}
	if err := checkReaders(readers); err != nil {
		return "", err
	}
	principals := slices.Compact(slices.Sorted(slices.Values(readers)))
	doc := map[string]any{
		"Version": "2012-10-17",
		"Statement": []map[string]any{{
			"Sid":       ReaderPolicySid,
			"Effect":    "Allow",
			"Principal": map[string][]string{"AWS": principals},
			"Action":    "secretsmanager:GetSecretValue",
			"Resource":  "*",
		}},
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return "", fmt.Errorf("encoding the reader policy: %w", err)
	}
	if len(b) > maxPolicySize {
		return "", fmt.Errorf("the reader policy of %d readers has %d characters, over the %d a secret's resource policy may hold: grant an account's root or fewer roles", len(principals), len(b), maxPolicySize)
	}
	return string(b), nil
}

// Readers replaces the readers of the added integration name's token
// secret: it lets exactly readers (principal ARNs, as ParseReaders returns
// them) read its value, through the secret's resource policy, and nobody
// when readers is empty (it deletes the policy). The token secret must be
// this stack's. It needs the stack's name and secret prefix.
func (o *Operator) Readers(ctx context.Context, name string, readers []string) error {
	if err := integration.CheckName(name); err != nil {
		return err
	}
	if err := checkReaders(readers); err != nil {
		return err
	}
	if err := o.need(OutputSecretPrefix); err != nil {
		return err
	}
	out, err := o.stackToken(ctx, name, "changing its readers")
	if err != nil {
		return err
	}
	if err := checkReaderAccounts(accountOf(aws.ToString(out.ARN)), aws.ToString(out.KmsKeyId), o.cfg.Stack.KeyReaders, readers); err != nil {
		return fmt.Errorf("integration %q: %w", name, err)
	}
	tokenName := o.cfg.Stack.SecretPrefix + name
	return o.setReaders(ctx, name, tokenName, readers)
}

// addReaders is Add's step for the readers: with readers, it sets them;
// without, it leaves an existing token secret's readers as they are and
// says how to grant them.
func (o *Operator) addReaders(ctx context.Context, name, tokenName string, existing bool, readers []string) error {
	switch {
	case len(readers) > 0:
		return o.setReaders(ctx, name, tokenName, readers)
	case existing:
		o.say(name, "readers of the token secret left as they were; make integration-readers NAME=%s READERS=<principal ARNs> replaces them", name)
	default:
		o.say(name, "nobody may read the token yet: make integration-readers NAME=%s READERS=<principal ARNs> grants it", name)
	}
	return nil
}

// setReaders puts the reader policy on the token secret, or deletes the
// policy when readers is empty.
func (o *Operator) setReaders(ctx context.Context, name, tokenName string, readers []string) error {
	if len(readers) == 0 {
		if _, err := o.cfg.Secrets.DeleteResourcePolicy(ctx, &secretsmanager.DeleteResourcePolicyInput{SecretId: aws.String(tokenName)}); err != nil {
			return fmt.Errorf("integration %q: deleting the resource policy of token secret %s: %w", name, tokenName, err)
		}
		o.say(name, "every reader's grant removed: token secret %s has no resource policy", tokenName)
		return nil
	}
	policy, err := ReaderPolicy(readers)
	if err != nil {
		return fmt.Errorf("integration %q: %w", name, err)
	}
	if _, err := o.cfg.Secrets.PutResourcePolicy(ctx, &secretsmanager.PutResourcePolicyInput{
		SecretId:          aws.String(tokenName),
		ResourcePolicy:    aws.String(policy),
		BlockPublicPolicy: aws.Bool(true),
	}); err != nil {
		if isAccessDenied(err) {
			return fmt.Errorf("integration %q: not allowed to set the readers of token secret %s (the operator needs secretsmanager:PutResourcePolicy on it): %w", name, tokenName, err)
		}
		return fmt.Errorf("integration %q: putting the resource policy of token secret %s (does every reader exist?): %w; make integration-readers NAME=%s retries", name, tokenName, err, name)
	}
	o.say(name, "readers set: token secret %s's resource policy lets %s read it", tokenName, strings.Join(slices.Compact(slices.Sorted(slices.Values(readers))), ", "))
	return nil
}
