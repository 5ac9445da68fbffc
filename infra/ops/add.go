package ops

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/tokenrotator/tokenrotator/functions/integration"
)

// FirstRotationError is Add's error when everything was set up but the
// first rotation failed: the integration stays added, and a rotation after
// the fix (make rotate INTEGRATION=name) completes it. Err is the
// *FunctionError, or why the invocation failed.
type FirstRotationError struct {
	Integration string
	Err         error
}

func (e *FirstRotationError) Error() string {
	return fmt.Sprintf("integration %q stays added, but its first rotation failed; after fixing the cause, make rotate INTEGRATION=%s retries it", e.Integration, e.Integration)
}

func (e *FirstRotationError) Unwrap() error { return e.Err }

// Add adds the integration name, made from the credentials secret
// credentialsARN (a full ARN), to the stack, and runs its first rotation:
//
//  1. checks the name and the ARN (not the stack's own credentials
//     secret), and describes the credentials secret;
//  2. checks that the token secret <prefix>name is free, or already made
//     from the same credentials secret (Add is then idempotent), and that
//     no other integration of the stack is made from that credentials
//     secret;
//  3. tags the credentials secret tokenrotator:stack=<stack>, which lets
//     the stack's role read it;
//  4. creates the token secret, value {}, tagged with the stack, the name
//     and the credentials secret's ARN; with readers (principal ARNs),
//     lets exactly them read it, as Readers does, and without, leaves its
//     readers as they are (a new one has none);
//  5. puts the integration's stale alarm;
//  6. invokes the function with {"force": true, "integration": name};
//  7. with the secretsmanager engine, gives the token secret Secrets
//     Manager's rotation on the function, with the stack's schedule and
//     window, as the stack's own token secret has (RotateSecret; its first
//     rotation starts at once);
//  8. with the client-secret rotation (output ClientSecretRotation adobe),
//     gives the credentials secret Secrets Manager's rotation on the
//     client-secret rotator, with the stack's schedule, as the stack's own
//     credentials secret has: Secrets Manager tests the setup at once, and
//     the first rotation comes in the schedule's first window.
//
// Each step prints one line. A failed first rotation returns a
// *FirstRotationError, everything else staying in place. It needs the
// stack's name, function name, secret prefix, alarm topic and own
// credentials secret.
func (o *Operator) Add(ctx context.Context, name, credentialsARN string, readers ...string) (Report, error) {
	if err := integration.CheckName(name); err != nil {
		return Report{}, err
	}
	if name == integration.DefaultName {
		return Report{}, fmt.Errorf("integration name %q is the stack's own integration's (the function's INTEGRATION): choose another", name)
	}
	if err := CheckCredentialsARN(credentialsARN); err != nil {
		return Report{}, err
	}
	if err := checkReaders(readers); err != nil {
		return Report{}, err
	}
	if err := o.need(OutputFunctionName, OutputSecretPrefix, OutputAlarmTopic, OutputCredentialsSecret); err != nil {
		return Report{}, err
	}
	st := o.cfg.Stack
	if credentialsARN == st.CredentialsARN {
		return Report{}, fmt.Errorf("integration %q: credentials secret %s is the one of stack %s's own integration (%s, output %s): a credentials secret backs one integration only, and the rotator would refuse this one; give %s a credentials secret of its own",
			name, credentialsARN, st.Name, integration.DefaultName, OutputCredentialsSecret, name)
	}
	tokenName := st.SecretPrefix + name

	tagged, err := o.checkCredentials(ctx, name, credentialsARN)
	if err != nil {
		return Report{}, err
	}
	existing, tokenKey, err := o.existingToken(ctx, name, tokenName, credentialsARN)
	if err != nil {
		return Report{}, err
	}
	if err := o.checkUnshared(ctx, name, credentialsARN); err != nil {
		return Report{}, err
	}
	if !existing {
		tokenKey = st.TokenKMSKeyARN // what createToken encrypts it with
	}
	// The token secret is in the credentials secret's account: the stack's role reads only its own.
	if err := checkReaderAccounts(accountOf(credentialsARN), tokenKey, st.KeyReaders, readers); err != nil {
		return Report{}, fmt.Errorf("integration %q: %w", name, err)
	}
	if tagged {
		o.say(name, "credentials secret already tagged %s=%s", integration.TagStack, st.Name)
	} else if err := o.tagCredentials(ctx, name, credentialsARN); err != nil {
		return Report{}, err
	}
	if !existing {
		if err := o.createToken(ctx, name, tokenName, credentialsARN); err != nil {
			return Report{}, err
		}
	}
	if err := o.addReaders(ctx, name, tokenName, existing, readers); err != nil {
		return Report{}, err
	}
	if _, err := o.cfg.Alarms.PutMetricAlarm(ctx, staleAlarm(st, name)); err != nil {
		return Report{}, fmt.Errorf("integration %q: putting alarm %s: %w", name, AlarmName(st.Name, name), err)
	}
	o.say(name, "alarm %s set: it notifies %s after %d hours without a successful rotation", AlarmName(st.Name, name), st.AlarmTopicARN, StaleHours)

	o.say(name, `first rotation: invoking %s with {"force": true, "integration": %q}`, st.FunctionName, name)
	rep, err := o.invoke(ctx, event{Force: true, Integration: name})
	if err != nil {
		o.say(name, "first rotation failed: %s", failureText(err))
		o.say(name, "the integration stays added; after fixing the cause, make rotate INTEGRATION=%s retries", name)
		return rep, &FirstRotationError{Integration: name, Err: err}
	}
	for _, one := range rep.Integrations {
		o.say(name, "%s: token expires %s, version %s", one.Kind(), formatTime(one.Expiry), one.VersionID)
	}
	if err := o.enableRotation(ctx, name, tokenName); err != nil {
		return rep, err
	}
	if err := o.enableClientSecretRotation(ctx, name, credentialsARN); err != nil {
		return rep, err
	}
	o.say(name, "added; consumers read secret %s (AWSCURRENT)", tokenName)
	return rep, nil
}

// enableRotation gives the token secret Secrets Manager's rotation, with
// the secretsmanager engine; with the scheduler it does nothing.
func (o *Operator) enableRotation(ctx context.Context, name, tokenName string) error {
	st := o.cfg.Stack
	switch st.RotationEngine {
	case "", EngineScheduler:
		return nil
	case EngineSecretsManager:
	default:
		return fmt.Errorf("integration %q: the stack's rotation engine %q is neither %s nor %s", name, st.RotationEngine, EngineScheduler, EngineSecretsManager)
	}
	if err := o.need(OutputFunctionARN, OutputNativeRules); err != nil {
		return err
	}
	schedule, window, ok := strings.Cut(st.NativeRules, ";")
	if !ok || schedule == "" || window == "" {
		return fmt.Errorf("integration %q: stack output %s %q is not \"<schedule>;<window>\"", name, OutputNativeRules, st.NativeRules)
	}
	if o.cfg.Rotations == nil {
		return fmt.Errorf("integration %q: the operator has no Secrets Manager client to turn rotation on", name)
	}
	_, err := o.cfg.Rotations.RotateSecret(ctx, &secretsmanager.RotateSecretInput{
		SecretId:          aws.String(tokenName),
		RotationLambdaARN: aws.String(st.FunctionARN),
		RotationRules:     &types.RotationRulesType{ScheduleExpression: aws.String(schedule), Duration: aws.String(window)},
		// As the template's schedule: a rotation now, rather than a test of
		// the setup whose pending version AWS does not describe.
		RotateImmediately: aws.Bool(true),
	})
	if err != nil {
		return fmt.Errorf("integration %q: turning on Secrets Manager's rotation of %s: %w; it is added and has a token, make integration-add again retries", name, tokenName, err)
	}
	o.say(name, "Secrets Manager rotates it with %s on %s, window %s; its first rotation has started", st.FunctionARN, schedule, window)
	return nil
}

// enableClientSecretRotation gives the credentials secret Secrets Manager's
// rotation on the client-secret rotator, when the stack has it on.
func (o *Operator) enableClientSecretRotation(ctx context.Context, name, credentialsARN string) error {
	st := o.cfg.Stack
	switch st.ClientSecretRotation {
	case "", ClientSecretNone:
		return nil
	case ClientSecretAdobe:
	default:
		return fmt.Errorf("integration %q: the stack's client-secret rotation %q is neither %s nor %s", name, st.ClientSecretRotation, ClientSecretNone, ClientSecretAdobe)
	}
	if err := o.need(OutputClientSecretFunctionARN, OutputClientSecretRules); err != nil {
		return err
	}
	if o.cfg.Rotations == nil {
		return fmt.Errorf("integration %q: the operator has no Secrets Manager client to turn the client-secret rotation on", name)
	}
	_, err := o.cfg.Rotations.RotateSecret(ctx, &secretsmanager.RotateSecretInput{
		SecretId:          aws.String(credentialsARN),
		RotationLambdaARN: aws.String(st.ClientSecretFunctionARN),
		RotationRules:     &types.RotationRulesType{ScheduleExpression: aws.String(st.ClientSecretRules)},
		// As the template's CredentialsRotationSchedule: adding an
		// integration changes no client secret. Secrets Manager runs
		// testSecret on a copy of the current value instead.
		RotateImmediately: aws.Bool(false),
	})
	if err != nil {
		return fmt.Errorf("integration %q: turning on the client-secret rotation of %s: %w; it is added and has a token, make integration-add again retries", name, credentialsARN, err)
	}
	o.say(name, "Secrets Manager rotates its client secret with %s on %s; the setup is tested, the first rotation comes within that", st.ClientSecretFunctionARN, st.ClientSecretRules)
	return nil
}

// failureText is err's message: a function error's own words, or why the
// invocation failed.
func failureText(err error) string {
	var fe *FunctionError
	if errors.As(err, &fe) {
		return fe.Message
	}
	return err.Error()
}

// checkCredentials describes the credentials secret: it must exist, not be
// scheduled for deletion, not be a token secret of this stack, and not
// belong to another stack. tagged is true when it is already tagged with
// this stack.
func (o *Operator) checkCredentials(ctx context.Context, name, arn string) (tagged bool, err error) {
	st := o.cfg.Stack
	out, err := o.cfg.Secrets.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(arn)})
	switch {
	case isNotFound(err):
		return false, fmt.Errorf("integration %q: credentials secret %s does not exist (check the ARN, and that AWS_REGION is its Region)", name, arn)
	case isAccessDenied(err):
		return false, fmt.Errorf("integration %q: not allowed to describe credentials secret %s (the operator needs secretsmanager:DescribeSecret and TagResource on it): %w", name, arn, err)
	case err != nil:
		return false, fmt.Errorf("integration %q: describing credentials secret %s: %w", name, arn, err)
	case out.DeletedDate != nil:
		return false, fmt.Errorf("integration %q: credentials secret %s is scheduled for deletion; restore it first", name, arn)
	case strings.HasPrefix(aws.ToString(out.Name), st.SecretPrefix):
		return false, fmt.Errorf("integration %q: %s is a token secret of stack %s (its name starts with %s), not a credentials secret", name, arn, st.Name, st.SecretPrefix)
	}
	owner, ok := tagValue(out.Tags, integration.TagStack)
	if ok && owner != st.Name {
		return false, fmt.Errorf("integration %q: credentials secret %s is tagged %s=%s: it serves that stack's integrations, and a tag has one value, so it cannot serve %s too; give this integration a copy of the credentials",
			name, arn, integration.TagStack, owner, st.Name)
	}
	o.say(name, "credentials secret %s found (%s)", aws.ToString(out.Name), arn)
	if key := aws.ToString(out.KmsKeyId); key != "" && key != "alias/aws/secretsmanager" {
		o.say(name, "note: the credentials secret is encrypted with KMS key %s; the stack's role must be allowed kms:Decrypt with it (the stack's CredentialsKmsKeyArn)", key)
	}
	return ok, nil
}

// existingToken reports whether the token secret already exists, made from
// the same credentials secret for this stack, and the KMS key it is
// encrypted with (empty for the AWS managed key); another one is an error.
func (o *Operator) existingToken(ctx context.Context, name, tokenName, credentialsARN string) (existing bool, kmsKey string, err error) {
	st := o.cfg.Stack
	out, err := o.cfg.Secrets.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(tokenName)})
	switch {
	case isNotFound(err):
		return false, "", nil
	case err != nil:
		return false, "", fmt.Errorf("integration %q: describing token secret %s: %w", name, tokenName, err)
	case out.DeletedDate != nil:
		return false, "", fmt.Errorf("integration %q: token secret %s is scheduled for deletion; restore and remove it (make integration-remove NAME=%s), or wait until it is gone", name, tokenName, name)
	}
	owner, _ := tagValue(out.Tags, integration.TagStack)
	creds, _ := tagValue(out.Tags, integration.TagCredentials)
	switch {
	case owner != st.Name:
		return false, "", fmt.Errorf("integration %q: secret %s exists but is not a token secret of stack %s (its %s tag is %q); choose another name", name, tokenName, st.Name, integration.TagStack, owner)
	case creds != credentialsARN:
		return false, "", fmt.Errorf("integration %q already exists with credentials secret %s, not %s: remove it first (make integration-remove NAME=%s), then add it again", name, creds, credentialsARN, name)
	}
	o.say(name, "token secret %s already exists for the same credentials secret: keeping it", tokenName)
	return true, aws.ToString(out.KmsKeyId), nil
}

// checkUnshared fails when another integration of the stack is made from
// the credentials secret arn. A credentials secret backs one integration
// only: the rotator refuses every integration of a shared one, so adding a
// second would stop the first.
func (o *Operator) checkUnshared(ctx context.Context, name, arn string) error {
	others, err := o.usersOf(ctx, arn, name)
	if err != nil {
		return fmt.Errorf("integration %q: checking that no other integration uses credentials secret %s: %w", name, arn, err)
	}
	if len(others) > 0 {
		return fmt.Errorf("integration %q: credentials secret %s already backs integration %s of stack %s; a credentials secret backs one integration only (the rotator refuses all of them otherwise): give %s a credentials secret of its own",
			name, arn, strings.Join(others, ", "), o.cfg.Stack.Name, name)
	}
	return nil
}

// tagCredentials tags the credentials secret with the stack.
func (o *Operator) tagCredentials(ctx context.Context, name, arn string) error {
	st := o.cfg.Stack
	if _, err := o.cfg.Secrets.TagResource(ctx, &secretsmanager.TagResourceInput{
		SecretId: aws.String(arn),
		Tags:     []types.Tag{{Key: aws.String(integration.TagStack), Value: aws.String(st.Name)}},
	}); err != nil {
		if isAccessDenied(err) {
			return fmt.Errorf("integration %q: not allowed to tag credentials secret %s (the operator needs secretsmanager:TagResource on it): %w", name, arn, err)
		}
		return fmt.Errorf("integration %q: tagging credentials secret %s: %w", name, arn, err)
	}
	o.say(name, "credentials secret tagged %s=%s, so the stack's role may read it", integration.TagStack, st.Name)
	return nil
}

// createToken creates the token secret with the value {}.
func (o *Operator) createToken(ctx context.Context, name, tokenName, credentialsARN string) error {
	st := o.cfg.Stack
	in := &secretsmanager.CreateSecretInput{
		Name:         aws.String(tokenName),
		SecretString: aws.String("{}"),
		Description: aws.String(fmt.Sprintf("OAuth access token of integration %s, kept fresh by the tokenrotator stack %s from credentials secret %s. Read AWSCURRENT; do not write.",
			name, st.Name, credentialsARN)),
		Tags: []types.Tag{
			{Key: aws.String(integration.TagStack), Value: aws.String(st.Name)},
			{Key: aws.String(integration.TagIntegration), Value: aws.String(name)},
			{Key: aws.String(integration.TagCredentials), Value: aws.String(credentialsARN)},
		},
	}
	if st.TokenKMSKeyARN != "" {
		in.KmsKeyId = aws.String(st.TokenKMSKeyARN)
	}
	out, err := o.cfg.Secrets.CreateSecret(ctx, in)
	if err != nil {
		return fmt.Errorf("integration %q: creating token secret %s: %w", name, tokenName, err)
	}
	o.say(name, "token secret %s created (%s), value {} until the first rotation", tokenName, aws.ToString(out.ARN))
	return nil
}
