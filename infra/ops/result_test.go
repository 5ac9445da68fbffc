package ops

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDecodeReport(t *testing.T) {
	expiry := time.Date(2026, 11, 30, 5, 0, 0, 0, time.UTC)
	many := `{"rotated":true,"reason":"3 integrations: 2 rotated, 1 fresh, 0 failed","expiry":"2026-11-30T05:00:00Z",
		"counts":{"rotated":2,"fresh":1,"failed":0},"integrations":[
		{"integration":"acme","rotated":true,"reason":"forced","expiry":"2026-11-30T05:00:00Z","version_id":"v1","client_id":"c"},
		{"integration":"default","rotated":false,"reason":"fresh","expiry":"2026-11-30T06:00:00Z","version_id":"v2"}]}`
	one := `{"integration":"acme","rotated":true,"reason":"forced","expiry":"2026-11-30T05:00:00Z","version_id":"v1",
		"counts":{"rotated":1,"fresh":0,"failed":0},"integrations":[{"integration":"acme","rotated":true,"reason":"forced","expiry":"2026-11-30T05:00:00Z","version_id":"v1"}]}`
	tests := []struct {
		name    string
		failed  bool
		payload string
		only    string
		want    []Outcome
		wantErr string // the FunctionError's message
		wantBad bool   // decodeReport itself fails
	}{
		{name: "run of many", payload: many, want: []Outcome{
			{Integration: "acme", Rotated: true, Reason: "forced", Expiry: expiry, VersionID: "v1"},
			{Integration: "default", Reason: "fresh", Expiry: expiry.Add(time.Hour), VersionID: "v2"}}},
		{name: "run of one", payload: one, only: "acme", want: []Outcome{{Integration: "acme", Rotated: true, Reason: "forced", Expiry: expiry, VersionID: "v1"}}},
		{name: "result without integrations", payload: `{"integration":"default","rotated":false,"reason":"fresh","expiry":"2026-11-30T05:00:00Z"}`,
			want: []Outcome{{Integration: "default", Reason: "fresh", Expiry: expiry}}},
		{name: "lambda function error", failed: true, only: "acme", payload: `{"errorMessage":"fetching a token: invalid_client","errorType":"errorString"}`,
			want: []Outcome{{Integration: "acme", Error: "fetching a token: invalid_client"}}, wantErr: "fetching a token: invalid_client"},
		{name: "emulator function error", only: "acme", payload: `{"errorMessage":"boom","errorType":"errorString"}`,
			want: []Outcome{{Integration: "acme", Error: "boom"}}, wantErr: "boom"},
		{name: "timeout", only: "acme", payload: `Task timed out after 60.00 seconds`,
			want: []Outcome{{Integration: "acme", Error: "Task timed out after 60.00 seconds"}}, wantErr: "Task timed out after 60.00 seconds"},
		{name: "flagged but not the usual shape", failed: true, payload: `{"x":1}`, wantErr: `the function failed with {"x":1}`},
		{name: "not json", payload: `<html>`, wantBad: true},
		{name: "flagged and not json", failed: true, payload: `<html>`, wantErr: "the function failed with <html>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := decodeReport(tt.failed, []byte(tt.payload), tt.only)
			if tt.wantBad {
				if err == nil {
					t.Fatalf("decodeReport() error = nil, want one")
				}
				return
			}
			if err != nil {
				t.Fatalf("decodeReport() error = %v", err)
			}
			if !slices.Equal(rep.Integrations, tt.want) {
				t.Errorf("Integrations = %+v, want %+v", rep.Integrations, tt.want)
			}
			switch {
			case tt.wantErr == "" && rep.Err != nil:
				t.Errorf("Err = %v, want nil", rep.Err)
			case tt.wantErr != "" && (rep.Err == nil || rep.Err.Message != tt.wantErr):
				t.Errorf("Err = %v, want message %q", rep.Err, tt.wantErr)
			}
		})
	}
}

func TestParseFailures(t *testing.T) {
	cause := `fetching a token from http://127.0.0.1:1/ims/token/v3 for client "bad": invalid_client: invalid client_secret parameter (HTTP 400)`
	var twentyThree strings.Builder
	twentyThree.WriteString("23 of 30 integrations failed (7 rotated, 0 fresh; nothing was written for the failed ones)")
	var named []Outcome
	for i := range 20 {
		n := fmt.Sprintf("app-%02d", i)
		fmt.Fprintf(&twentyThree, "; %s: %s", n, cause)
		named = append(named, Outcome{Integration: n, Error: cause})
	}
	twentyThree.WriteString("; and 3 more, named in the log")
	tests := []struct {
		name       string
		msg        string
		want       []Outcome
		wantCounts Counts
		wantOK     bool
	}{
		{name: "two failed", wantOK: true,
			msg:        "2 of 4 integrations failed (1 rotated, 1 fresh; nothing was written for the failed ones); bad-creds: " + cause + `; gone: reading credentials secret "x": not found`,
			want:       []Outcome{{Integration: "bad-creds", Error: cause}, {Integration: "gone", Error: `reading credentials secret "x": not found`}},
			wantCounts: Counts{Rotated: 1, Fresh: 1, Failed: 2}},
		{name: "after a listing error", wantOK: true,
			msg:        "finding the added integrations failed, so they were not run: throttled; 1 of 1 integrations failed (0 rotated, 0 fresh; nothing was written for the failed ones); default: " + cause,
			want:       []Outcome{{Integration: "default", Error: cause}},
			wantCounts: Counts{Failed: 1}},
		{name: "more than twenty", msg: twentyThree.String(), want: named, wantCounts: Counts{Rotated: 7, Failed: 23}, wantOK: true},
		{name: "a cause that reads like a name", msg: "1 of 2 integrations failed (1 rotated, 0 fresh; nothing was written for the failed ones); a: x; b: y",
			wantCounts: Counts{Rotated: 1, Failed: 1}},
		{name: "listing error alone", msg: "finding the added integrations failed, so they were not run: throttled"},
		{name: "run of one", msg: cause},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, counts, ok := parseFailures(tt.msg)
			if ok != tt.wantOK || !slices.Equal(got, tt.want) || counts != tt.wantCounts {
				t.Errorf("parseFailures() = %+v, %+v, %v, want %+v, %+v, %v", got, counts, ok, tt.want, tt.wantCounts, tt.wantOK)
			}
		})
	}
}
