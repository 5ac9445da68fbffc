package rotation

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tokenrotator/tokenrotator/functions/internal/config"
	"github.com/tokenrotator/tokenrotator/functions/internal/oauthtoken"
	"github.com/tokenrotator/tokenrotator/functions/internal/secretstore"
)

// urlKey stands for a key in a TOKEN_URL's or TEST_URL's query or user
// information: no log line, result or error may show it.
const urlKey = "SENTINEL-url-key-5b2d"

func TestRunsShowTheTokenURLWithoutItsKey(t *testing.T) {
	for _, fail := range []bool{false, true} {
		t.Run(fmt.Sprintf("failing=%v", fail), func(t *testing.T) {
			store, fetcher := goodStore(), &fakeFetcher{tok: freshToken()}
			if fail {
				fetcher.err = &oauthtoken.Error{Reason: "token endpoint refused the request", StatusCode: 400, Code: "invalid_client"}
			}
			r, logs, _ := setup(store, fetcher)
			r.cfg.Settings.TokenURL = "https://user:" + urlKey + "@ims.example/t?key=" + urlKey + "#" + urlKey
			res, err := r.Handle(context.Background(), []byte(`{"force":true}`))
			if fail != (err != nil) {
				t.Fatalf("Handle() error = %v, want failing=%v", err, fail)
			}
			texts := logs.String() + fmt.Sprintf("%+v", res)
			if err != nil {
				texts += err.Error()
				if !strings.Contains(err.Error(), "fetching a token from https://ims.example/t for client") {
					t.Errorf("Handle() error = %q, want it to name the token URL by scheme, host and path", err)
				}
			}
			if strings.Contains(texts, urlKey) {
				t.Errorf("the URL's key shows in %s", texts)
			}
		})
	}
}

func TestTryTokenShowsTheTestURLWithoutItsKey(t *testing.T) {
	answering := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }))
	defer answering.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	r := New(Config{})
	v := secretstore.TokenValue{AccessToken: sentinelToken, TokenType: "bearer", Expiry: time.Now().Add(time.Hour)}
	for name, base := range map[string]string{"answers 503": answering.URL, "unreachable": closed.URL} {
		t.Run(name, func(t *testing.T) {
			p := config.Provider{TestURL: base + "/me?key=" + urlKey, TokenURL: "https://ims.example/t"}
			_, err := r.tryToken(context.Background(), p, v)
			if err == nil {
				t.Fatal("tryToken() error = nil, want a failure")
			}
			if !strings.Contains(err.Error(), "GET TEST_URL "+base+"/me ") || strings.Contains(err.Error(), urlKey) {
				t.Errorf("tryToken() error = %q, want TEST_URL shown as %s/me, without its key", err, base)
			}
			noLeak(t, err.Error())
		})
	}
}
