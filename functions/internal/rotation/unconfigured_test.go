package rotation

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestUnconfigured(t *testing.T) {
	var got []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &m)
		got = append(got, m)
	}))
	defer srv.Close()
	cfgErr := errors.New("invalid configuration:\nTOKEN_URL: https is required")
	h := Unconfigured(cfgErr, slog.New(slog.DiscardHandler))
	cfnEvent := func(requestType string) json.RawMessage {
		return json.RawMessage(`{"RequestType":"` + requestType + `","ResponseURL":"` + srv.URL + `","StackId":"s","RequestId":"r","LogicalResourceId":"FirstToken","PhysicalResourceId":"p"}`)
	}
	tests := []struct {
		name, payload string
		wantErr       bool
		wantStatus    string
	}{
		{"scheduled run fails", `{"source":"aws.scheduler","detail":"{}"}`, true, ""},
		{"force fails", `{"force":true}`, true, ""},
		{"custom-resource Create reports FAILED", string(cfnEvent("Create")), false, "FAILED"},
		{"custom-resource Delete reports SUCCESS", string(cfnEvent("Delete")), false, "SUCCESS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got = nil
			res, err := h(context.Background(), json.RawMessage(tt.payload))
			if tt.wantErr {
				if !errors.Is(err, cfgErr) || len(got) != 0 {
					t.Errorf("handler = %+v, %v with %d responses; want the configuration error and no response", res, err, len(got))
				}
				return
			}
			if err != nil || len(got) != 1 || got[0]["Status"] != tt.wantStatus || !strings.HasPrefix(res.CustomResource, tt.wantStatus) {
				t.Fatalf("handler = %+v, %v, responses %v; want %s reported", res, err, got, tt.wantStatus)
			}
			if tt.wantStatus == "FAILED" && !strings.Contains(got[0]["Reason"].(string), "TOKEN_URL") {
				t.Errorf("Reason = %v, want the configuration error", got[0]["Reason"])
			}
		})
	}
}
