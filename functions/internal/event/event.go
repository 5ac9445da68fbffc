// Package event tells apart the events the rotator is invoked with.
//
// A scheduled event from EventBridge Scheduler ("source": "aws.scheduler",
// "detail" a JSON string) or from an EventBridge rule ("source":
// "aws.events", "detail" an object) is a normal run, and so is {}.
// {"force": true} is a forced run. Either may name one integration,
// {"force": true, "integration": "acme"}, to run only that one. A CloudFormation custom-resource event
// (RequestType and ResponseURL set) is a deploy-time request.
//
//	ev, err := event.Parse(payload)
//	if err != nil {
//		return err // says what was wrong and what was expected
//	}
//	switch ev.Kind {
//	case event.Normal, event.Force, event.CustomResource:
//	}
package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

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
)

func (k Kind) String() string {
	switch k {
	case Normal:
		return "normal"
	case Force:
		return "force"
	case CustomResource:
		return "custom-resource"
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
}

const expected = `expected {}, {"force": true} (either with "integration": "<name>"), an EventBridge scheduled event or a CloudFormation custom-resource event`

// probe holds the fields that tell the events apart.
type probe struct {
	Force       json.RawMessage `json:"force"`
	Integration json.RawMessage `json:"integration"`
	Source      string          `json:"source"`
	DetailType  string          `json:"detail-type"`
	Detail      json.RawMessage `json:"detail"`
	RequestType string          `json:"RequestType"`
	ResponseURL string          `json:"ResponseURL"`
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
	case p.RequestType != "" || p.ResponseURL != "":
		return parseCustomResource(payload, p)
	case p.Source != "":
		return parseScheduled(fields, p)
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
