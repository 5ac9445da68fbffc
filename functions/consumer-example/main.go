// Command consumer-example is a small Lambda that shows how a consumer uses
// package tokensecret: it calls an Adobe API (API_URL) with the token from
// the token secret (TOKEN_SECRET_ID) and reports the HTTP status and the
// token's expiry, never the token.
//
//	TOKEN_SECRET_ID=adobe-token API_URL=https://example.adobe.io/... ./bootstrap
//
// Invoke it with any event; it answers {"status": 200, "token_expiry": "..."}.
// With TOKEN_READ_VIA=extension it reads through the AWS Parameters and
// Secrets Lambda Extension instead of calling Secrets Manager.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/tokenrotator/tokenrotator/functions/tokensecret"
)

func main() {
	cfg, err := loadConfig(os.Getenv)
	if err != nil {
		log.Fatal(err)
	}
	logger := lambdacontext.NewLogger()
	srcCfg := tokensecret.Config{SecretID: cfg.SecretID, Logger: logger, Extension: cfg.Extension}
	if !cfg.Extension {
		awsCfg, err := awsconfig.LoadDefaultConfig(context.Background())
		if err != nil {
			log.Fatalf("loading AWS configuration: %v", err)
		}
		srcCfg.Client = secretsmanager.NewFromConfig(awsCfg)
	}
	src, err := tokensecret.New(srcCfg)
	if err != nil {
		log.Fatal(err)
	}
	h := &handler{src: src, apiURL: cfg.APIURL, client: &http.Client{
		Transport: &tokensecret.Transport{Source: src},
		Timeout:   30 * time.Second,
	}}
	lambda.Start(h.handle)
}

// config is the function's environment.
type config struct {
	SecretID  string // TOKEN_SECRET_ID: name or ARN of the token secret
	APIURL    string // API_URL: the Adobe API to call with GET
	Extension bool   // TOKEN_READ_VIA=extension: read through the Lambda extension
}

// loadConfig reads the environment through getenv, returning one error that
// names every bad variable.
func loadConfig(getenv func(string) string) (config, error) {
	cfg := config{SecretID: getenv("TOKEN_SECRET_ID"), APIURL: getenv("API_URL")}
	var errs []error
	if cfg.SecretID == "" {
		errs = append(errs, errors.New("TOKEN_SECRET_ID is required"))
	}
	if u, err := url.Parse(cfg.APIURL); cfg.APIURL == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		errs = append(errs, fmt.Errorf("API_URL must be an absolute http(s) URL, got %q", cfg.APIURL))
	}
	switch via := getenv("TOKEN_READ_VIA"); via {
	case "", "sdk":
	case "extension":
		cfg.Extension = true
	default:
		errs = append(errs, fmt.Errorf("TOKEN_READ_VIA must be sdk or extension, got %q", via))
	}
	return cfg, errors.Join(errs...)
}

// result is what the function answers. It never holds the token.
type result struct {
	Status      int    `json:"status"`
	TokenExpiry string `json:"token_expiry"`
}

// handler calls the API with the token from src.
type handler struct {
	src    *tokensecret.Source
	client *http.Client // its Transport adds the token
	apiURL string
}

// handle calls the API once and reports its status and the expiry of the
// token in use.
func (h *handler) handle(ctx context.Context, _ json.RawMessage) (result, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.apiURL, nil)
	if err != nil {
		return result{}, fmt.Errorf("building request: %w", err)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return result{}, fmt.Errorf("calling API: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()

	tok, err := h.src.Get(ctx) // after the call: a 401 may have brought a new token
	if err != nil {
		return result{}, fmt.Errorf("reading token expiry: %w", err)
	}
	return result{Status: resp.StatusCode, TokenExpiry: tok.Expiry.UTC().Format(time.RFC3339)}, nil
}
