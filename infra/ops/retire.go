package ops

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/tokenrotator/tokenrotator/functions/integration"
)

// retireEvent is the client-secret rotator's event for an operator's
// retirement after a leak.
type retireEvent struct {
	ClientSecrets string `json:"client_secrets"`
	Integration   string `json:"integration"`
}

// RetireClientSecrets invokes the client-secret rotator with
// {"client_secrets": "retire-now", "integration": name}: it removes at
// Adobe every client secret of that integration's credential but the one in
// AWSCURRENT, whatever their last use. name is an added integration, or
// integration.DefaultName for the stack's own. It prints one line before,
// the function's result, and one line saying what happened; the result
// holds no secret (the function never returns one). A failure the function
// reports is a *FunctionError. It needs output
// ClientSecretRotatorFunctionArn.
func (o *Operator) RetireClientSecrets(ctx context.Context, name string) (json.RawMessage, error) {
	if err := integration.CheckName(name); err != nil {
		return nil, err
	}
	if err := o.need(OutputClientSecretFunctionARN); err != nil {
		return nil, err
	}
	fn := o.cfg.Stack.ClientSecretFunctionARN
	if o.cfg.InvokeName == EmulatorFunctionName {
		fn = EmulatorFunctionName
	}
	payload, err := json.Marshal(retireEvent{ClientSecrets: "retire-now", Integration: name})
	if err != nil {
		return nil, fmt.Errorf("encoding the event: %w", err)
	}
	o.say(name, "invoking %s with %s: every client secret of its credential but the current one goes", o.cfg.Stack.ClientSecretFunctionARN, payload)
	out, err := o.cfg.Lambda.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(fn), Payload: payload})
	if err != nil {
		return nil, fmt.Errorf("integration %q: invoking the client-secret rotator %s: %w", name, o.cfg.Stack.ClientSecretFunctionARN, err)
	}
	var fe FunctionError
	if json.Unmarshal(out.Payload, &fe) == nil && fe.Message != "" || aws.ToString(out.FunctionError) != "" {
		if fe.Message == "" {
			fe = FunctionError{Type: "Unknown", Message: fmt.Sprintf("the function failed with %.300s", bytes.TrimSpace(out.Payload))}
		}
		o.say(name, "NOT retired: %s", fe.Message)
		return nil, &fe
	}
	var result any
	if err := json.Unmarshal(out.Payload, &result); err != nil {
		return nil, fmt.Errorf("integration %q: the client-secret rotator's result is not JSON: %.200q", name, out.Payload)
	}
	shown, err := json.MarshalIndent(redact(result), "", "  ")
	if err != nil {
		return nil, fmt.Errorf("integration %q: encoding the result: %w", name, err)
	}
	fmt.Fprintln(o.cfg.Out, string(shown))
	o.say(name, "retired: its credential keeps only the client secret in AWSCURRENT of its credentials secret")
	return out.Payload, nil
}

// secretKeys are the JSON keys whose values redact hides, whatever the
// function returns: it never returns a secret, and should it ever, the
// operator's output still shows none.
var secretKeys = map[string]bool{"client_secret": true, "clientSecret": true, "access_token": true,
	"management_token": true, "token": true, "secret": true}

// redact returns v with the values of secretKeys replaced, at any depth.
func redact(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			if secretKeys[k] {
				out[k] = "(redacted)"
				continue
			}
			out[k] = redact(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = redact(x)
		}
		return out
	}
	return v
}
