// Package event tells apart the events the rotator is invoked with.
//
// A scheduled event from EventBridge Scheduler ("source": "aws.scheduler",
// "detail" a JSON string) or from an EventBridge rule ("source":
// "aws.events", "detail" an object) is a normal run, and so is {}.
// {"force": true} is a forced run. Either may name one integration,
// {"force": true, "integration": "acme"}, to run only that one. A CloudFormation custom-resource event
// (RequestType and ResponseURL set) is a deploy-time request. An event with
// "Step" is a step of Secrets Manager's rotation protocol for one token
// secret: {"Step", "SecretId", "ClientRequestToken", "RotationToken"}.
// {"client_secrets": "retire"} is the scheduled check that retires old
// client secrets whose retirement is pending, and {"client_secrets":
// "retire-now", "integration": "acme"} the operator's command that removes
// every client secret of that integration but the current one.
//
//	ev, err := event.Parse(payload)
//	if err != nil {
//		return err // says what was wrong and what was expected
//	}
//	switch ev.Kind {
//	case event.Normal, event.Force, event.CustomResource, event.RotationStep, event.ClientSecrets:
//	}
package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"unicode"

	"github.com/aws/aws-lambda-go/cfn"

	"github.com/tokenrotator/tokenrotator/functions/integration"
)

// Kind is what an event asks for.
type Kind int

const (
	// Normal refreshes only when the stored token needs it.
	Normal Kind = iota + 1
	// Force fetches and stores a new token whatever the stored one's age.
	Force
	// CustomResource is a CloudFormation custom-resource request.
	CustomResource
	// RotationStep is one step of Secrets Manager's rotation protocol.
	RotationStep
	// ClientSecrets retires old client secrets (Event.ClientSecrets says how).
	ClientSecrets
)

func (k Kind) String() string {
	switch k {
	case Normal:
		return "normal"
	case Force:
		return "force"
	case CustomResource:
		return "custom-resource"
	case RotationStep:
		return "rotation-step"
	case ClientSecrets:
		return "client-secrets"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Event is a parsed invocation payload.
type Event struct {
	Kind Kind
	// Source is the scheduled event's source, empty for other events.
	Source string
	// CFN is the custom-resource request when Kind is CustomResource.
	CFN *cfn.Event
	// Integration, when not empty, limits a normal or forced run to the
	// integration of that name.
	Integration string
	// Rotation is the rotation step when Kind is RotationStep.
	Rotation *Rotation
	// ClientSecrets is Retire or RetireNow when Kind is ClientSecrets;
	// RetireNow names its integration in Integration (DefaultName for the
	// stack's own).
	ClientSecrets string
}

// The "client_secrets" commands.
const (
	// Retire retires every old client secret whose retirement is pending
	// and provably unused: the scheduled check.
	Retire = "retire"
	// RetireNow removes every client secret of one integration's
	// credential but the one in AWSCURRENT, whatever its last use: the
	// operator's command after a leak.
	RetireNow = "retire-now"
)

// The rotation protocol's steps, as Secrets Manager names them in "Step".
const (
	StepCreate = "createSecret"
	StepSet    = "setSecret"
	StepTest   = "testSecret"
	StepFinish = "finishSecret"
)

// Rotation is a step of Secrets Manager's rotation protocol. Printing or
// logging it leaves out RotationToken.
type Rotation struct {
	// Step is StepCreate, StepSet, StepTest or StepFinish.
	Step string `json:"Step"`
	// SecretID is the ARN (or name) of the secret being rotated.
	SecretID string `json:"SecretId"`
	// ClientRequestToken is the id of the version the rotation creates.
	ClientRequestToken string `json:"ClientRequestToken"`
	// RotationToken, when Secrets Manager sends one, goes with the
	// rotation's PutSecretValue; it proves the write belongs to this
	// rotation. It is never logged.
	RotationToken string `json:"RotationToken"`
}

// LogValue leaves out RotationToken.
func (r Rotation) LogValue() slog.Value {
	return slog.GroupValue(slog.String("step", r.Step), slog.String("secret_id", r.SecretID),
		slog.String("client_request_token", r.ClientRequestToken), slog.Bool("rotation_token_set", r.RotationToken != ""))
}

// String leaves out RotationToken.
func (r Rotation) String() string {
	return fmt.Sprintf("%s of secret %q, version %q", r.Step, r.SecretID, r.ClientRequestToken)
}

const expected = `expected {}, {"force": true} (either with "integration": "<name>"), {"client_secrets": "retire"}, {"client_secrets": "retire-now", "integration": "<name>"}, an EventBridge scheduled event, a CloudFormation custom-resource event or a Secrets Manager rotation step`

// probe holds the fields that tell the events apart.
type probe struct {
	Force         json.RawMessage `json:"force"`
	Integration   json.RawMessage `json:"integration"`
	Source        string          `json:"source"`
	DetailType    string          `json:"detail-type"`
	Detail        json.RawMessage `json:"detail"`
	RequestType   string          `json:"RequestType"`
	ResponseURL   string          `json:"ResponseURL"`
	Step          json.RawMessage `json:"Step"`
	ClientSecrets json.RawMessage `json:"client_secrets"`
}

// isEnvelopeField reports whether name is a field of an EventBridge event envelope.
func isEnvelopeField(name string) bool {
	switch name {
	case "version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail":
		return true
	}
	return false
}

// Parse reads an invocation payload. The error says what was wrong and
// what was expected; it quotes no value.
func Parse(payload []byte) (Event, error) {
	payload = bytes.TrimSpace(payload)
	if len(payload) == 0 || bytes.Equal(payload, []byte("null")) {
		return Event{Kind: Normal}, nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(payload, &fields); err != nil || fields == nil {
		return Event{}, fmt.Errorf("event is not a JSON object; %s", expected)
	}
	var p probe
	if err := json.Unmarshal(payload, &p); err != nil {
		return Event{}, fmt.Errorf("event has a field of the wrong type (%v); %s", err, expected)
	}
	switch {
	case p.Step != nil:
		return parseRotation(payload)
	case p.RequestType != "" || p.ResponseURL != "":
		return parseCustomResource(payload, p)
	case p.Source != "":
		return parseScheduled(fields, p)
	case p.ClientSecrets != nil:
		return parseClientSecrets(fields, p)
	}
	var unknown []string
	for k := range fields {
		if k != "force" && k != "integration" {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return Event{}, fmt.Errorf("event has unknown field(s) %s; %s", strings.Join(unknown, ", "), expected)
	}
	ev := Event{Kind: Normal}
	if p.Integration != nil {
		if err := json.Unmarshal(p.Integration, &ev.Integration); err != nil {
			return Event{}, fmt.Errorf(`event field "integration" must be a string, an integration's name`)
		}
		if err := integration.CheckName(ev.Integration); err != nil {
			return Event{}, fmt.Errorf(`event field "integration": %w`, err)
		}
	}
	if p.Force != nil {
		var force bool
		if err := json.Unmarshal(p.Force, &force); err != nil {
			return Event{}, fmt.Errorf(`event field "force" must be true or false`)
		}
		if force {
			ev.Kind = Force
		}
	}
	return ev, nil
}

// parseClientSecrets reads {"client_secrets": "retire"} and
// {"client_secrets": "retire-now", "integration": "<name>"}.
func parseClientSecrets(fields map[string]json.RawMessage, p probe) (Event, error) {
	for k := range fields {
		if k != "client_secrets" && k != "integration" {
			return Event{}, fmt.Errorf("client_secrets event has unknown field %q; %s", k, expected)
		}
	}
	ev := Event{Kind: ClientSecrets}
	if err := json.Unmarshal(p.ClientSecrets, &ev.ClientSecrets); err != nil || (ev.ClientSecrets != Retire && ev.ClientSecrets != RetireNow) {
		return Event{}, fmt.Errorf(`event field "client_secrets" must be %q or %q`, Retire, RetireNow)
	}
	if p.Integration != nil {
		if err := json.Unmarshal(p.Integration, &ev.Integration); err != nil {
			return Event{}, fmt.Errorf(`event field "integration" must be a string, an integration's name`)
		}
	}
	switch {
	case ev.ClientSecrets == Retire && p.Integration != nil:
		return Event{}, fmt.Errorf(`event {"client_secrets": %q} takes no "integration": it checks every credentials secret with a retirement pending`, Retire)
	case ev.ClientSecrets == RetireNow && ev.Integration == "":
		ev.Integration = integration.DefaultName
	}
	if ev.Integration != "" {
		if err := integration.CheckName(ev.Integration); err != nil {
			return Event{}, fmt.Errorf(`event field "integration": %w`, err)
		}
	}
	return ev, nil
}

func parseScheduled(fields map[string]json.RawMessage, p probe) (Event, error) {
	if p.Source != "aws.scheduler" && p.Source != "aws.events" {
		return Event{}, fmt.Errorf("event source %q is not aws.scheduler or aws.events; %s", p.Source, expected)
	}
	for k := range fields {
		if !isEnvelopeField(k) {
			return Event{}, fmt.Errorf("scheduled event has unknown field %q; %s", k, expected)
		}
	}
	// Scheduler sends detail as a JSON string holding an object, a rule as
	// an object; either must be an object once unwrapped.
	detail := p.Detail
	var s string
	if json.Unmarshal(detail, &s) == nil {
		detail = []byte(s)
	}
	if len(bytes.TrimSpace(detail)) > 0 {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(detail, &obj); err != nil {
			return Event{}, fmt.Errorf(`scheduled event "detail" is not a JSON object (or a string holding one)`)
		}
	}
	return Event{Kind: Normal, Source: p.Source}, nil
}

// parseRotation reads a rotation step. Fields other than the four are
// ignored: Secrets Manager owns this shape.
func parseRotation(payload []byte) (Event, error) {
	var r Rotation
	if err := json.Unmarshal(payload, &r); err != nil {
		return Event{}, fmt.Errorf("rotation event has a field of the wrong type (%v); want strings Step, SecretId, ClientRequestToken and RotationToken", err)
	}
	var bad []string
	switch r.Step {
	case StepCreate, StepSet, StepTest, StepFinish:
	default:
		bad = append(bad, fmt.Sprintf("Step %q is not %s, %s, %s or %s", r.Step, StepCreate, StepSet, StepTest, StepFinish))
	}
	if strings.TrimSpace(r.SecretID) == "" {
		bad = append(bad, "SecretId is empty")
	}
	// ClientRequestToken becomes the version id: 32 to 64 characters.
	if n := len(r.ClientRequestToken); n < 32 || n > 64 || strings.ContainsFunc(r.ClientRequestToken, unicode.IsControl) {
		bad = append(bad, fmt.Sprintf("ClientRequestToken must be 32 to 64 printable characters, has %d", n))
	}
	if len(bad) > 0 {
		return Event{}, fmt.Errorf("rotation event: %s", strings.Join(bad, "; "))
	}
	return Event{Kind: RotationStep, Rotation: &r}, nil
}

func parseCustomResource(payload []byte, p probe) (Event, error) {
	var ev cfn.Event
	if err := json.Unmarshal(payload, &ev); err != nil {
		return Event{}, fmt.Errorf("custom-resource event has a field of the wrong type (%v)", err)
	}
	var missing []string
	for name, v := range map[string]string{
		"RequestType": string(ev.RequestType), "ResponseURL": ev.ResponseURL, "StackId": ev.StackID,
		"RequestId": ev.RequestID, "LogicalResourceId": ev.LogicalResourceID,
	} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return Event{}, fmt.Errorf("custom-resource event lacks %s", strings.Join(missing, ", "))
	}
	switch ev.RequestType {
	case cfn.RequestCreate, cfn.RequestUpdate, cfn.RequestDelete:
	default:
		return Event{}, fmt.Errorf("custom-resource RequestType %q is not Create, Update or Delete", ev.RequestType)
	}
	return Event{Kind: CustomResource, CFN: &ev}, nil
}
