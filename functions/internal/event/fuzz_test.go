package event

import (
	"os"
	"path/filepath"
	"testing"
)

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("../../../infra/events/*.json")
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{`{}`, `{"force":true}`, `{"force":"yes"}`, `[]`, `{"source":"aws.scheduler","detail":"{\"a\":1}"}`,
		`{"RequestType":"Create","ResponseURL":"http://127.0.0.1/x","StackId":"s","RequestId":"r","LogicalResourceId":"l"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		ev, err := Parse(payload)
		if err != nil {
			if ev.Kind != 0 {
				t.Errorf("Parse() = %v with error %v, want the zero Event", ev.Kind, err)
			}
			return
		}
		switch ev.Kind {
		case Normal, Force:
			if ev.CFN != nil || ev.Rotation != nil {
				t.Errorf("Parse() = %v with a CFN request or a rotation step", ev.Kind)
			}
		case RotationStep:
			r := ev.Rotation
			if r == nil || r.SecretID == "" || len(r.ClientRequestToken) < 32 {
				t.Errorf("Parse() = RotationStep without a secret or a version id: %v", r)
			}
		case CustomResource:
			if ev.CFN == nil || ev.CFN.ResponseURL == "" {
				t.Errorf("Parse() = CustomResource without a request or ResponseURL")
			}
		default:
			t.Errorf("Parse() kind = %v", ev.Kind)
		}
	})
}
