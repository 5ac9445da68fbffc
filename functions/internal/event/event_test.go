package event

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
)

func TestParseClientSecrets(t *testing.T) {
	for payload, want := range map[string]Event{
		`{"client_secrets": "retire"}`:                               {Kind: ClientSecrets, ClientSecrets: Retire},
		`{"client_secrets": "retire-now", "integration": "acme"}`:    {Kind: ClientSecrets, ClientSecrets: RetireNow, Integration: "acme"},
		`{"client_secrets": "retire-now"}`:                           {Kind: ClientSecrets, ClientSecrets: RetireNow, Integration: "default"},
		`{"client_secrets": "retire-now", "integration": "default"}`: {Kind: ClientSecrets, ClientSecrets: RetireNow, Integration: "default"},
	} {
		got, err := Parse([]byte(payload))
		if err != nil || got.Kind != want.Kind || got.ClientSecrets != want.ClientSecrets || got.Integration != want.Integration {
			t.Errorf("Parse(%s) = %+v, %v; want %+v", payload, got, err, want)
		}
	}
}

func TestParse(t *testing.T) {
	cfn := `{"RequestType":"%s","ResponseURL":"http://127.0.0.1/r","StackId":"arn:s","RequestId":"r1","LogicalResourceId":"FirstToken","ResourceType":"Custom::FirstToken"}`
	tests := []struct {
		name, payload string
		want          Kind
		wantErr       string
	}{
		{"empty object", `{}`, Normal, ""},
		{"empty payload", ``, Normal, ""},
		{"null", `null`, Normal, ""},
		{"force", `{"force": true}`, Force, ""},
		{"force false", `{"force": false}`, Normal, ""},
		{"scheduler, detail a string", `{"version":"0","id":"1","detail-type":"Scheduled Event","source":"aws.scheduler","resources":[],"detail":"{}"}`, Normal, ""},
		{"rule, detail an object", `{"version":"0","id":"1","detail-type":"Scheduled Event","source":"aws.events","resources":[],"detail":{}}`, Normal, ""},
		{"custom resource create", strings.Replace(cfn, "%s", "Create", 1), CustomResource, ""},
		{"custom resource delete", strings.Replace(cfn, "%s", "Delete", 1), CustomResource, ""},
		{"force not a bool", `{"force": "yes"}`, 0, `"force" must be true or false`},
		{"unknown field", `{"forse": true}`, 0, "unknown field(s) forse"},
		{"array", `[]`, 0, "not a JSON object"},
		{"string", `"x"`, 0, "not a JSON object"},
		{"broken JSON", `{"force":`, 0, "not a JSON object"},
		{"other source", `{"source":"aws.s3","detail":{}}`, 0, `source "aws.s3"`},
		{"scheduler detail not an object", `{"source":"aws.scheduler","detail":"[1]"}`, 0, "not a JSON object"},
		{"scheduled event with a stray field", `{"source":"aws.events","detail":{},"force":true}`, 0, `unknown field "force"`},
		{"custom resource without ResponseURL", `{"RequestType":"Create","StackId":"s","RequestId":"r","LogicalResourceId":"l"}`, 0, "lacks ResponseURL"},
		{"custom resource bad type", strings.Replace(cfn, "%s", "Replace", 1), 0, `RequestType "Replace"`},
		{"force one integration", `{"force": true, "integration": "acme"}`, Force, ""},
		{"one integration", `{"integration": "acme"}`, Normal, ""},
		{"integration not a string", `{"integration": 7}`, 0, `"integration" must be a string`},
		{"integration name invalid", `{"force": true, "integration": "../acme"}`, 0, `integration name "../acme" is not valid`},
		{"integration in a scheduled event", `{"source":"aws.events","detail":{},"integration":"acme"}`, 0, `unknown field "integration"`},
		{"rotation create", rotation("createSecret"), RotationStep, ""},
		{"rotation finish", rotation("finishSecret"), RotationStep, ""},
		{"rotation without RotationToken", `{"Step":"testSecret","SecretId":"s","ClientRequestToken":"` + uuid + `"}`, RotationStep, ""},
		{"rotation with a field AWS may add", `{"Step":"setSecret","SecretId":"s","ClientRequestToken":"` + uuid + `","Other":1}`, RotationStep, ""},
		{"rotation step in snake case", rotation("create_secret"), 0, `Step "create_secret" is not createSecret`},
		{"rotation step not a string", `{"Step":1,"SecretId":"s","ClientRequestToken":"` + uuid + `"}`, 0, "field of the wrong type"},
		{"rotation without SecretId", `{"Step":"createSecret","ClientRequestToken":"` + uuid + `"}`, 0, "SecretId is empty"},
		{"rotation with a short token", `{"Step":"createSecret","SecretId":"s","ClientRequestToken":"abc"}`, 0, "32 to 64 printable characters, has 3"},
		{"retire", `{"client_secrets": "retire"}`, ClientSecrets, ""},
		{"retire now", `{"client_secrets": "retire-now", "integration": "acme"}`, ClientSecrets, ""},
		{"retire now, the stack's own", `{"client_secrets": "retire-now"}`, ClientSecrets, ""},
		{"retire with an integration", `{"client_secrets": "retire", "integration": "acme"}`, 0, `takes no "integration"`},
		{"client_secrets unknown", `{"client_secrets": "rotate"}`, 0, `"client_secrets" must be "retire" or "retire-now"`},
		{"client_secrets not a string", `{"client_secrets": true}`, 0, `"client_secrets" must be`},
		{"client_secrets with force", `{"client_secrets": "retire", "force": true}`, 0, `unknown field "force"`},
		{"retire now, a bad name", `{"client_secrets": "retire-now", "integration": "A/B"}`, 0, `integration name "A/B" is not valid`},
		{"rotation step with client_secrets stays a step", `{"Step":"createSecret","SecretId":"s","ClientRequestToken":"` + uuid + `","client_secrets":"retire"}`, RotationStep, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.payload))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse() error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got.Kind != tt.want {
				t.Fatalf("Parse() = %v, %v; want %v", got.Kind, err, tt.want)
			}
			if strings.Contains(tt.payload, `"acme"`) && got.Integration != "acme" {
				t.Errorf("Parse().Integration = %q, want acme", got.Integration)
			}
			if got.Kind == CustomResource && got.CFN == nil {
				t.Errorf("Parse().CFN = nil, want the request")
			}
			if got.Kind == RotationStep && (got.Rotation == nil || got.Rotation.SecretID != "s" || got.Rotation.ClientRequestToken != uuid) {
				t.Errorf("Parse().Rotation = %+v, want SecretId s and the version %s", got.Rotation, uuid)
			}
		})
	}
}

const uuid = "5b7c9e2a-4f1d-4c3b-9a8e-1d2f3a4b5c6d"

func rotation(step string) string {
	return `{"Step":"` + step + `","SecretId":"s","ClientRequestToken":"` + uuid + `","RotationToken":"sentinel-rotation-token"}`
}

// TestRotationNeverPrintsItsToken: the rotation token proves a write
// belongs to a rotation; it stays out of logs.
func TestRotationNeverPrintsItsToken(t *testing.T) {
	ev, err := Parse([]byte(rotation("createSecret")))
	if err != nil {
		t.Fatal(err)
	}
	var buf strings.Builder
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "rotation", *ev.Rotation)
	for _, s := range []string{buf.String(), ev.Rotation.String(), fmt.Sprint(*ev.Rotation)} {
		if strings.Contains(s, "sentinel-rotation-token") {
			t.Errorf("printed rotation = %s, want no RotationToken", s)
		}
		if !strings.Contains(s, uuid) {
			t.Errorf("printed rotation = %s, want the version id", s)
		}
	}
}

// TestSampleEvents keeps infra/events parseable, as make run sends them.
func TestSampleEvents(t *testing.T) {
	want := map[string]Kind{"scheduler.json": Normal, "rule.json": Normal, "empty.json": Normal, "force.json": Force,
		"cfn-create.json": CustomResource, "cfn-delete.json": CustomResource, "rotation-create.json": RotationStep}
	for name, kind := range want {
		b, err := os.ReadFile("../../../infra/events/" + name)
		if err != nil {
			t.Errorf("reading sample event: %v", err)
			continue
		}
		got, err := Parse(b)
		if err != nil || got.Kind != kind {
			t.Errorf("Parse(%s) = %v, %v; want %v", name, got.Kind, err, kind)
		}
	}
}
