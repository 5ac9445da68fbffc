package status

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/tokenrotator/tokenrotator/infra/ops"
)

func TestCLIUsage(t *testing.T) {
	noAWS := func(context.Context) (aws.Config, error) { return aws.Config{}, errors.New("must not be called") }
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"extra"}, `unexpected arguments ["extra"]`},
		{[]string{"-stack", ""}, "-stack is empty"},
		{[]string{"-window", "0s"}, "-window must be above zero"},
		{[]string{"-nope"}, "flag provided but not defined: -nope"},
	}
	for _, tt := range tests {
		var out, errOut bytes.Buffer
		ok, err := CLI{Out: &out, Err: &errOut, LoadAWS: noAWS}.Run(context.Background(), tt.args)
		if ok || !errors.Is(err, ops.ErrUsage) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Run(%q) = %v, %v; want a usage error naming %q", tt.args, ok, err, tt.want)
		}
		if code := ExitCode(ok, err); code != ExitUsage {
			t.Errorf("Run(%q): exit code %d, want %d", tt.args, code, ExitUsage)
		}
		if out.Len() != 0 {
			t.Errorf("Run(%q) printed %q, want nothing on Out", tt.args, out.String())
		}
	}
	var errOut bytes.Buffer
	_, err := CLI{Err: &errOut}.Run(context.Background(), []string{"-h"})
	if !errors.Is(err, flag.ErrHelp) || ExitCode(false, err) != ExitOK || !strings.Contains(errOut.String(), "Exit codes: 0 every token outlives") {
		t.Errorf("Run(-h) = %v, help %q; want flag.ErrHelp, exit 0 and the exit codes", err, errOut.String())
	}
}

func TestCLICannotLoadAWS(t *testing.T) {
	failing := func(context.Context) (aws.Config, error) { return aws.Config{}, errors.New("no credentials") }
	ok, err := CLI{Out: &bytes.Buffer{}, LoadAWS: failing}.Run(context.Background(), nil)
	if ok || err == nil || err.Error() != "loading the AWS configuration: no credentials" || ExitCode(ok, err) != ExitUnreadable {
		t.Errorf("Run() = %v, %v (exit %d); want the loading error and exit %d", ok, err, ExitCode(ok, err), ExitUnreadable)
	}
}

func TestExitCode(t *testing.T) {
	tests := []struct {
		ok   bool
		err  error
		want int
	}{
		{true, nil, ExitOK},
		{false, nil, ExitTokens},
		{false, ops.ErrUsage, ExitUsage},
		{false, errors.New("stack tokenrotator not found"), ExitUnreadable},
	}
	for _, tt := range tests {
		if got := ExitCode(tt.ok, tt.err); got != tt.want {
			t.Errorf("ExitCode(%v, %v) = %d, want %d", tt.ok, tt.err, got, tt.want)
		}
	}
}
