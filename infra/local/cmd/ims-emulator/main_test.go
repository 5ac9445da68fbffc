package main

import (
	"io"
	"strings"
	"testing"
)

func TestRunRefusesMissingCredentials(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{name: "nothing", want: "a client id and a client secret are needed"},
		{name: "id without secret", args: []string{"-client-id", "c"}, want: "a client id and a client secret are needed"},
		{name: "secret from env without id", env: map[string]string{envClientSecret: "s"}, want: "a client id and a client secret are needed"},
		{name: "bad flag", args: []string{"-nope"}, want: "flag provided but not defined"},
		{name: "bad address", args: []string{"-addr", "256.0.0.1:x"}, env: map[string]string{envClientID: "c", envClientSecret: "s"}, want: "listening on"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run(%q) error = %v, want it to contain %q", tt.args, err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "s3cr") {
				t.Errorf("run() error = %v, want no secret in it", err)
			}
		})
	}
}
