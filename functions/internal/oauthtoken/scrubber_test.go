package oauthtoken

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestScrubberRemovesEveryForm(t *testing.T) {
	const (
		old   = "SENTINEL old/secret+é"
		added = "SENTINEL-new"
		token = "SENTINEL-bearer-token"
	)
	sc := NewScrubber([]Credentials{{ClientID: "id", ClientSecret: old}, {ClientID: "id", ClientSecret: added}}, token)
	text := strings.Join([]string{old, "SENTINEL+old%2Fsecret%2B%C3%A9", added, token,
		base64.StdEncoding.EncodeToString([]byte("id:" + added)), "line\nbreak"}, " | ")
	got := sc.Scrub(text)
	if strings.Contains(got, "SENTINEL") || strings.Contains(got, base64.StdEncoding.EncodeToString([]byte("id:"+added))) {
		t.Errorf("Scrub() = %q, want no secret in any form", got)
	}
	if !strings.Contains(got, "line break") {
		t.Errorf("Scrub() = %q, want control characters turned into spaces", got)
	}
	if got := (Scrubber{}).Scrub("plain"); got != "plain" {
		t.Errorf("zero Scrubber.Scrub(%q) = %q, want it unchanged", "plain", got)
	}
}
