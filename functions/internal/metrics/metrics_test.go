package metrics

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

var fixed = time.Date(2026, 11, 28, 16, 0, 1, 0, time.UTC)

// emfLine is the shape of one EMF object, as CloudWatch reads it.
type emfLine struct {
	AWS struct {
		Timestamp         int64 `json:"Timestamp"`
		CloudWatchMetrics []struct {
			Namespace  string     `json:"Namespace"`
			Dimensions [][]string `json:"Dimensions"`
			Metrics    []metric   `json:"Metrics"`
		} `json:"CloudWatchMetrics"`
	} `json:"_aws"`
}

// decode checks that buf holds exactly one JSON line and returns it both as
// the EMF structure and as a flat map of its members.
func decode(t *testing.T, buf *bytes.Buffer) (emfLine, map[string]any) {
	t.Helper()
	s := buf.String()
	if strings.Count(s, "\n") != 1 || !strings.HasSuffix(s, "\n") {
		t.Fatalf("output = %q, want exactly one line", s)
	}
	var line emfLine
	var flat map[string]any
	if err := json.Unmarshal([]byte(s), &line); err != nil {
		t.Fatalf("decoding %q: %v", s, err)
	}
	if err := json.Unmarshal([]byte(s), &flat); err != nil {
		t.Fatalf("decoding %q: %v", s, err)
	}
	if n := len(line.AWS.CloudWatchMetrics); n != 1 {
		t.Fatalf("CloudWatchMetrics has %d entries, want 1", n)
	}
	return line, flat
}

func TestEmitter(t *testing.T) {
	tests := []struct {
		name        string
		emit        func(Emitter)
		wantMetrics []metric
		wantValues  map[string]any
		wantAbsent  []string
	}{
		{
			name: "rotated",
			emit: func(e Emitter) {
				e.Run(Summary{Integrations: 1, Rotated: 1, MinTTL: 24*time.Hour - time.Second, MaxTokenRequest: 1234567 * time.Microsecond})
			},
			wantMetrics: []metric{
				{RotationSucceeded, UnitCount}, {RotationFailed, UnitCount},
				{TokenSecondsToExpiry, UnitSeconds}, {TokenRequestLatency, UnitMilliseconds}, {IntegrationsFailed, UnitCount},
			},
			wantValues: map[string]any{
				RotationSucceeded: 1.0, RotationFailed: 0.0, TokenSecondsToExpiry: 86399.0, IntegrationsFailed: 0.0,
				TokenRequestLatency: 1234.567, "Rotated": true, DimensionFunctionName: "tokenrotator-RotatorFunction-abc",
			},
		},
		{
			name: "fresh token left alone: success without a latency",
			emit: func(e Emitter) { e.Run(Summary{Integrations: 1, MinTTL: 20*time.Hour + 400*time.Millisecond}) },
			wantMetrics: []metric{
				{RotationSucceeded, UnitCount}, {RotationFailed, UnitCount}, {TokenSecondsToExpiry, UnitSeconds}, {IntegrationsFailed, UnitCount},
			},
			wantValues: map[string]any{RotationSucceeded: 1.0, RotationFailed: 0.0, TokenSecondsToExpiry: 72000.0, "Rotated": false},
			wantAbsent: []string{TokenRequestLatency},
		},
		{
			name: "negative ttl counts as zero",
			emit: func(e Emitter) { e.Run(Summary{Integrations: 1, MinTTL: -time.Minute}) },
			wantMetrics: []metric{
				{RotationSucceeded, UnitCount}, {RotationFailed, UnitCount}, {TokenSecondsToExpiry, UnitSeconds}, {IntegrationsFailed, UnitCount},
			},
			wantValues: map[string]any{TokenSecondsToExpiry: 0.0},
		},
		{
			name:        "failure",
			emit:        func(e Emitter) { e.Run(Summary{Integrations: 1, Failed: 1}) },
			wantMetrics: []metric{{RotationSucceeded, UnitCount}, {RotationFailed, UnitCount}, {IntegrationsFailed, UnitCount}},
			wantValues:  map[string]any{RotationSucceeded: 0.0, RotationFailed: 1.0, IntegrationsFailed: 1.0},
			wantAbsent:  []string{TokenSecondsToExpiry, TokenRequestLatency, "Rotated"},
		},
		{
			name: "a run where some integrations failed keeps the others' least time left",
			emit: func(e Emitter) {
				e.Run(Summary{Integrations: 10, Rotated: 7, Failed: 2, MinTTL: time.Hour, MaxTokenRequest: 2 * time.Second})
			},
			wantMetrics: []metric{{RotationSucceeded, UnitCount}, {RotationFailed, UnitCount}, {TokenSecondsToExpiry, UnitSeconds},
				{TokenRequestLatency, UnitMilliseconds}, {IntegrationsFailed, UnitCount}},
			wantValues: map[string]any{RotationSucceeded: 0.0, RotationFailed: 1.0, TokenSecondsToExpiry: 3600.0,
				TokenRequestLatency: 2000.0, IntegrationsFailed: 2.0},
			wantAbsent: []string{"Rotated"},
		},
		{
			name: "retries summed over the integrations that requested a token",
			emit: func(e Emitter) {
				e.Run(Summary{Integrations: 5, Rotated: 2, Failed: 1, MinTTL: time.Hour, MaxTokenRequest: time.Second, Attempts: 6, Requested: 3})
			},
			wantMetrics: []metric{{RotationSucceeded, UnitCount}, {RotationFailed, UnitCount}, {TokenSecondsToExpiry, UnitSeconds},
				{TokenRequestLatency, UnitMilliseconds}, {IntegrationsFailed, UnitCount}, {TokenRequestRetries, UnitCount}},
			wantValues: map[string]any{TokenRequestRetries: 3.0, IntegrationsFailed: 1.0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			tt.emit(Emitter{W: &buf, FunctionName: "tokenrotator-RotatorFunction-abc", Now: func() time.Time { return fixed }})
			line, flat := decode(t, &buf)

			if got, want := line.AWS.Timestamp, fixed.UnixMilli(); got != want {
				t.Errorf("_aws.Timestamp = %d, want %d", got, want)
			}
			cwm := line.AWS.CloudWatchMetrics[0]
			if cwm.Namespace != Namespace {
				t.Errorf("Namespace = %q, want %q", cwm.Namespace, Namespace)
			}
			if want := [][]string{{DimensionFunctionName}}; !reflect.DeepEqual(cwm.Dimensions, want) {
				t.Errorf("Dimensions = %v, want %v", cwm.Dimensions, want)
			}
			if !reflect.DeepEqual(cwm.Metrics, tt.wantMetrics) {
				t.Errorf("Metrics = %v, want %v", cwm.Metrics, tt.wantMetrics)
			}
			// EMF requires every metric and dimension to be a top-level member.
			for _, m := range cwm.Metrics {
				if _, ok := flat[m.Name].(float64); !ok {
					t.Errorf("member %q = %v, want a number", m.Name, flat[m.Name])
				}
			}
			if got := flat[DimensionFunctionName]; got != "tokenrotator-RotatorFunction-abc" {
				t.Errorf("member %q = %v, want the function name", DimensionFunctionName, got)
			}
			for k, want := range tt.wantValues {
				if got := flat[k]; got != want {
					t.Errorf("member %q = %v, want %v", k, got, want)
				}
			}
			for _, k := range tt.wantAbsent {
				if v, ok := flat[k]; ok {
					t.Errorf("member %q = %v, want absent", k, v)
				}
			}
		})
	}
}

func TestEmitterWithoutFunctionName(t *testing.T) {
	var buf bytes.Buffer
	Emitter{W: &buf}.Run(Summary{Integrations: 1, Failed: 1})
	line, flat := decode(t, &buf)
	if want := [][]string{{}}; !reflect.DeepEqual(line.AWS.CloudWatchMetrics[0].Dimensions, want) {
		t.Errorf("Dimensions = %v, want %v (one empty dimension set)", line.AWS.CloudWatchMetrics[0].Dimensions, want)
	}
	if v, ok := flat[DimensionFunctionName]; ok {
		t.Errorf("member %q = %v, want absent", DimensionFunctionName, v)
	}
	if d := time.Since(time.UnixMilli(line.AWS.Timestamp)); d < 0 || d > time.Minute {
		t.Errorf("_aws.Timestamp is %v from now, want the current time when Now is nil", d)
	}
}

type failingWriter struct{ calls int }

func (w *failingWriter) Write([]byte) (int, error) { w.calls++; return 0, errors.New("closed") }

func TestEmitterIgnoresWriteErrors(t *testing.T) {
	w := &failingWriter{}
	e := Emitter{W: w, FunctionName: "f"}
	e.Integration("acme", Outcome{Rotated: true, TTL: time.Hour, TokenRequest: time.Millisecond})
	e.Run(Summary{Integrations: 1, Failed: 1})
	if w.calls != 2 {
		t.Errorf("Write calls = %d, want 2 (one per line, errors dropped)", w.calls)
	}
}

func TestEmitterTokenRequest(t *testing.T) {
	var buf bytes.Buffer
	Emitter{W: &buf, FunctionName: "fn", Now: func() time.Time { return fixed }}.TokenRequest("acme", 250*time.Millisecond, 2)
	line, flat := decode(t, &buf)
	cwm := line.AWS.CloudWatchMetrics[0]
	if want := [][]string{{DimensionFunctionName, DimensionIntegration}}; !reflect.DeepEqual(cwm.Dimensions, want) {
		t.Errorf("Dimensions = %v, want %v", cwm.Dimensions, want)
	}
	if want := []metric{{TokenRequestLatency, UnitMilliseconds}, {TokenRequestRetries, UnitCount}}; !reflect.DeepEqual(cwm.Metrics, want) {
		t.Errorf("Metrics = %v, want %v: no outcome before finishSecret", cwm.Metrics, want)
	}
	if flat[TokenRequestLatency] != 250.0 || flat[TokenRequestRetries] != 1.0 {
		t.Errorf("values = %v, %v; want 250 ms and 1 retry", flat[TokenRequestLatency], flat[TokenRequestRetries])
	}
}

func TestEmitterIntegration(t *testing.T) {
	for name, tc := range map[string]struct {
		o           Outcome
		wantMetrics []metric
		wantValues  map[string]any
	}{
		"rotated": {Outcome{Rotated: true, TTL: time.Hour, TokenRequest: 150 * time.Millisecond},
			[]metric{{RotationSucceeded, UnitCount}, {RotationFailed, UnitCount}, {TokenSecondsToExpiry, UnitSeconds}, {TokenRequestLatency, UnitMilliseconds}},
			map[string]any{RotationSucceeded: 1.0, TokenSecondsToExpiry: 3600.0, TokenRequestLatency: 150.0}},
		"failed": {Outcome{Failed: true, TTL: time.Hour},
			[]metric{{RotationSucceeded, UnitCount}, {RotationFailed, UnitCount}},
			map[string]any{RotationSucceeded: 0.0, RotationFailed: 1.0}},
		"rotated after two retries": {Outcome{Rotated: true, TTL: time.Hour, TokenRequest: time.Second, Attempts: 3},
			[]metric{{RotationSucceeded, UnitCount}, {RotationFailed, UnitCount}, {TokenSecondsToExpiry, UnitSeconds}, {TokenRequestLatency, UnitMilliseconds},
				{TokenRequestRetries, UnitCount}},
			map[string]any{TokenRequestRetries: 2.0}},
		"failed after four attempts": {Outcome{Failed: true, Attempts: 4},
			[]metric{{RotationSucceeded, UnitCount}, {RotationFailed, UnitCount}, {TokenRequestRetries, UnitCount}},
			map[string]any{RotationFailed: 1.0, TokenRequestRetries: 3.0}},
		"rotated, the token requested by an earlier step": {Outcome{Rotated: true, TTL: time.Hour},
			[]metric{{RotationSucceeded, UnitCount}, {RotationFailed, UnitCount}, {TokenSecondsToExpiry, UnitSeconds}},
			map[string]any{RotationSucceeded: 1.0}},
	} {
		var buf bytes.Buffer
		Emitter{W: &buf, FunctionName: "fn", Now: func() time.Time { return fixed }}.Integration("acme", tc.o)
		line, flat := decode(t, &buf)
		cwm := line.AWS.CloudWatchMetrics[0]
		if want := [][]string{{DimensionFunctionName, DimensionIntegration}}; !reflect.DeepEqual(cwm.Dimensions, want) {
			t.Errorf("%s: Dimensions = %v, want %v", name, cwm.Dimensions, want)
		}
		if !reflect.DeepEqual(cwm.Metrics, tc.wantMetrics) {
			t.Errorf("%s: Metrics = %v, want %v", name, cwm.Metrics, tc.wantMetrics)
		}
		if flat[DimensionIntegration] != "acme" || flat[DimensionFunctionName] != "fn" {
			t.Errorf("%s: dimension members = %v, %v; want acme, fn", name, flat[DimensionIntegration], flat[DimensionFunctionName])
		}
		for k, want := range tc.wantValues {
			if flat[k] != want {
				t.Errorf("%s: member %q = %v, want %v", name, k, flat[k], want)
			}
		}
	}
}

func TestEmitterClientSecretExpiry(t *testing.T) {
	for name, tc := range map[string]struct {
		expiresAt time.Time
		want      float64
	}{
		"30 days and an hour":  {fixed.Add(30*24*time.Hour + time.Hour), 30},
		"a minute short of 30": {fixed.Add(30*24*time.Hour - time.Minute), 29},
		"expires in an hour":   {fixed.Add(time.Hour), 0},
		"expired an hour ago":  {fixed.Add(-time.Hour), -1},
		"expired 10 days ago":  {fixed.Add(-10 * 24 * time.Hour), -10},
	} {
		var buf bytes.Buffer
		Emitter{W: &buf, FunctionName: "fn", Now: func() time.Time { return fixed }}.ClientSecretExpiry("acme", tc.expiresAt)
		line, flat := decode(t, &buf)
		cwm := line.AWS.CloudWatchMetrics[0]
		// Per integration, and per function for ClientSecretExpiryAlarm's minimum.
		if want := [][]string{{DimensionFunctionName, DimensionIntegration}, {DimensionFunctionName}}; !reflect.DeepEqual(cwm.Dimensions, want) {
			t.Errorf("%s: Dimensions = %v, want %v", name, cwm.Dimensions, want)
		}
		if want := []metric{{ClientSecretDaysLeft, UnitNone}}; !reflect.DeepEqual(cwm.Metrics, want) {
			t.Errorf("%s: Metrics = %v, want %v", name, cwm.Metrics, want)
		}
		if flat[ClientSecretDaysLeft] != tc.want || flat[DimensionIntegration] != "acme" {
			t.Errorf("%s: %s = %v for %v, want %v", name, ClientSecretDaysLeft, flat[ClientSecretDaysLeft], flat[DimensionIntegration], tc.want)
		}
	}
}
