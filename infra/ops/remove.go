package ops

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/tokenrotator/tokenrotator/functions/integration"
)

// Remove removes the integration name from the stack, and nothing else:
//
//  1. describes its token secret, which must be tagged with this stack;
//  2. deletes it at once, without a recovery window: it only ever holds an
//     access token, which expires on its own, and the provider issues
//     another to whoever adds the integration again;
//  3. deletes its stale alarm;
//  4. removes the tokenrotator:stack tag from its credentials secret, so
//     that the stack's roles can no longer read or rotate it, unless
//     another integration of the stack still names the same credentials
//     secret (Add refuses that, but a token secret may have been made by
//     hand); before that, when the credentials secret has the stack's
//     client-secret rotation, turns it off (CancelRotateSecret, which AWS
//     documents as the call that turns automatic rotation off).
//
// The credentials secret itself stays. Each step prints one line. It needs
// the stack's name and secret prefix.
func (o *Operator) Remove(ctx context.Context, name string) error {
	if err := integration.CheckName(name); err != nil {
		return err
	}
	if err := o.need(OutputSecretPrefix); err != nil {
		return err
	}
	st := o.cfg.Stack
	tokenName := st.SecretPrefix + name
	out, err := o.stackToken(ctx, name, "removing it")
	if err != nil {
		return err
	}
	credentialsARN, _ := tagValue(out.Tags, integration.TagCredentials)
	o.say(name, "token secret %s found, made from credentials secret %s", tokenName, orNone(credentialsARN))

	if _, err := o.cfg.Secrets.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{
		SecretId: out.ARN, ForceDeleteWithoutRecovery: aws.Bool(true),
	}); err != nil {
		return fmt.Errorf("integration %q: deleting token secret %s: %w", name, tokenName, err)
	}
	o.say(name, "token secret deleted without a recovery window: it held only an access token, which expires on its own; consumers reading it now get ResourceNotFoundException")

	alarm := AlarmName(st.Name, name)
	if _, err := o.cfg.Alarms.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{alarm}}); err != nil {
		return fmt.Errorf("integration %q: the token secret is deleted, but deleting alarm %s failed: %w", name, alarm, err)
	}
	o.say(name, "alarm %s deleted", alarm)

	if credentialsARN != "" {
		if err := o.untagCredentials(ctx, name, credentialsARN); err != nil {
			return err
		}
	}
	o.say(name, "removed; the credentials secret itself is left as it was")
	return nil
}

// stackToken describes the token secret of the added integration name,
// which must exist, not be scheduled for deletion, and be tagged with this
// stack; otherwise the error says which, and that the operator is not doing
// what.
func (o *Operator) stackToken(ctx context.Context, name, doing string) (*secretsmanager.DescribeSecretOutput, error) {
	st := o.cfg.Stack
	tokenName := st.SecretPrefix + name
	out, err := o.cfg.Secrets.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(tokenName)})
	switch {
	case isNotFound(err):
		return nil, fmt.Errorf("no integration %q in stack %s: there is no token secret %s (make integration-add adds it)", name, st.Name, tokenName)
	case err != nil:
		return nil, fmt.Errorf("integration %q: describing token secret %s: %w", name, tokenName, err)
	case out.DeletedDate != nil:
		return nil, fmt.Errorf("no integration %q in stack %s: token secret %s is already scheduled for deletion", name, st.Name, tokenName)
	}
	if owner, _ := tagValue(out.Tags, integration.TagStack); owner != st.Name {
		return nil, fmt.Errorf("secret %s is not a token secret of stack %s (its %s tag is %q): not %s", tokenName, st.Name, integration.TagStack, owner, doing)
	}
	return out, nil
}

// untagCredentials removes the stack's tag from the credentials secret
// when no other integration of the stack names it and the tag is this
// stack's.
func (o *Operator) untagCredentials(ctx context.Context, name, arn string) error {
	st := o.cfg.Stack
	others, err := o.usersOf(ctx, arn, name)
	if err != nil {
		return fmt.Errorf("integration %q: the token secret and alarm are deleted, but listing the other integrations failed, so credentials secret %s keeps its %s tag: %w",
			name, arn, integration.TagStack, err)
	}
	if len(others) > 0 {
		o.say(name, "credentials secret keeps its %s tag: integration %s uses it too", integration.TagStack, strings.Join(others, ", "))
		return nil
	}
	out, err := o.cfg.Secrets.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(arn)})
	switch {
	case isNotFound(err):
		o.say(name, "credentials secret %s no longer exists: nothing to untag", arn)
		return nil
	case err != nil:
		return fmt.Errorf("integration %q: the token secret and alarm are deleted, but describing credentials secret %s failed: %w", name, arn, err)
	}
	if owner, ok := tagValue(out.Tags, integration.TagStack); !ok || owner != st.Name {
		o.say(name, "credentials secret is not tagged %s=%s (tag: %q): leaving its tags alone", integration.TagStack, st.Name, owner)
		return nil
	}
	if err := o.disableClientSecretRotation(ctx, name, arn, out); err != nil {
		return err
	}
	if _, err := o.cfg.Secrets.UntagResource(ctx, &secretsmanager.UntagResourceInput{
		SecretId: aws.String(arn), TagKeys: []string{integration.TagStack},
	}); err != nil {
		return fmt.Errorf("integration %q: the token secret and alarm are deleted, but untagging credentials secret %s failed: %w", name, arn, err)
	}
	o.say(name, "credentials secret untagged (%s): no other integration uses it, and the stack's role can no longer read it", integration.TagStack)
	return nil
}

// disableClientSecretRotation turns off the rotation of the credentials
// secret arn (described as out) when it is on and runs the stack's
// client-secret rotator, which is about to lose access to it. A rotation
// on another function is not the stack's to turn off.
func (o *Operator) disableClientSecretRotation(ctx context.Context, name, arn string, out *secretsmanager.DescribeSecretOutput) error {
	fn := aws.ToString(out.RotationLambdaARN)
	if !aws.ToBool(out.RotationEnabled) || fn == "" {
		return nil
	}
	if fn != o.cfg.Stack.ClientSecretFunctionARN {
		o.say(name, "credentials secret keeps its rotation: its function %s is not this stack's client-secret rotator", fn)
		return nil
	}
	if o.cfg.Rotations == nil {
		return fmt.Errorf("integration %q: the token secret and alarm are deleted, but the operator has no Secrets Manager client to turn off the client-secret rotation of %s", name, arn)
	}
	if _, err := o.cfg.Rotations.CancelRotateSecret(ctx, &secretsmanager.CancelRotateSecretInput{SecretId: aws.String(arn)}); err != nil {
		return fmt.Errorf("integration %q: the token secret and alarm are deleted, but turning off the client-secret rotation of %s failed: %w; make integration-remove again retries", name, arn, err)
	}
	o.say(name, "client-secret rotation of the credentials secret turned off; its client secret stays as it is")
	for id, stages := range out.VersionIdsToStages {
		if slices.Contains(stages, "AWSPENDING") && !slices.Contains(stages, "AWSCURRENT") {
			o.say(name, "note: version %s is still AWSPENDING: a rotation was under way, and the client secret it added may still exist at Adobe; delete it in the Developer Console (the credential keeps the one in AWSCURRENT)", id)
		}
	}
	return nil
}

// usersOf lists the integrations of the stack, other than except, whose
// token secret names the credentials secret arn.
func (o *Operator) usersOf(ctx context.Context, arn, except string) ([]string, error) {
	added, err := o.List(ctx)
	if err != nil {
		return nil, err
	}
	var users []string
	for _, a := range added {
		if a.Name != except && a.CredentialsARN == arn {
			users = append(users, a.Name)
		}
	}
	return users, nil
}

// Added is an integration added to the stack, as its token secret tells.
type Added struct {
	// Name is the integration's name.
	Name string
	// CredentialsARN is its token secret's credentials tag, "" if none.
	CredentialsARN string
	// Stack is its token secret's stack tag: the stack's name when the
	// stack made it.
	Stack string
}

// List returns the integrations whose token secrets are named under the
// stack's prefix and not scheduled for deletion, sorted by name.
func (o *Operator) List(ctx context.Context) ([]Added, error) {
	prefix := o.cfg.Stack.SecretPrefix
	in := &secretsmanager.ListSecretsInput{
		MaxResults: aws.Int32(100),
		Filters:    []types.Filter{{Key: types.FilterNameStringTypeName, Values: []string{prefix}}},
	}
	var added []Added
	for {
		out, err := o.cfg.Secrets.ListSecrets(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("listing the token secrets named %s*: %w", prefix, err)
		}
		for _, s := range out.SecretList {
			// The name filter matches more loosely than a prefix.
			name, ok := strings.CutPrefix(aws.ToString(s.Name), prefix)
			if !ok || s.DeletedDate != nil {
				continue
			}
			creds, _ := tagValue(s.Tags, integration.TagCredentials)
			stack, _ := tagValue(s.Tags, integration.TagStack)
			added = append(added, Added{Name: name, CredentialsARN: creds, Stack: stack})
		}
		if aws.ToString(out.NextToken) == "" {
			break
		}
		in.NextToken = out.NextToken
	}
	sort.Slice(added, func(i, j int) bool { return added[i].Name < added[j].Name })
	return added, nil
}

func orNone(s string) string {
	if s == "" {
		return "(none: no " + integration.TagCredentials + " tag)"
	}
	return s
}
