// Command ims-emulator serves the token endpoint emulator (package imsemu)
// on a loopback port, for trying the rotator or a consumer by hand: Adobe
// IMS by default, or another provider's endpoint with -provider.
//
//	IMS_EMULATOR_CLIENT_SECRET=... go run ./infra/local/cmd/ims-emulator -client-id demo-client
//	IMS_EMULATOR_CLIENT_SECRET=... go run ./infra/local/cmd/ims-emulator -client-id demo-client -provider entra-v2
//
// It prints the token URL (a {placeholder} in it stands for any one path
// segment), logs one line per request (never a secret or a token), and
// stops on SIGINT or SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/tokenrotator/tokenrotator/infra/local/imsemu"
)

// Environment variables read when the flags are not given.
const (
	envClientID     = "IMS_EMULATOR_CLIENT_ID"
	envClientSecret = "IMS_EMULATOR_CLIENT_SECRET"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "ims-emulator:", err)
		os.Exit(1)
	}
}

// run serves until ctx is done.
func run(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	fs := flag.NewFlagSet("ims-emulator", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	clientID := fs.String("client-id", getenv(envClientID), "the registered client id (default $"+envClientID+")")
	secret := fs.String("client-secret", "", "the client secret (default $"+envClientSecret+"; prefer the variable, flags show in ps)")
	scopes := fs.String("scopes", "", "comma-separated scopes the client may ask for; empty allows any")
	provider := fs.String("provider", "ims", "the token endpoint to play: "+strings.Join(profileNames(), ", "))
	expiresIn := fs.Int64("expires-in", 0, "lifetime of issued tokens in seconds; 0 means the provider's default")
	formAnswer := fs.Bool("form", false, "answer form-encoded instead of JSON")
	omitExpiresIn := fs.Bool("omit-expires-in", false, "leave expires_in out of token answers")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *secret == "" {
		*secret = getenv(envClientSecret)
	}
	if *clientID == "" || *secret == "" {
		return fmt.Errorf("a client id and a client secret are needed: -client-id or $%s, -client-secret or $%s", envClientID, envClientSecret)
	}
	profile, ok := imsemu.ProfileNamed(*provider)
	if !ok {
		return fmt.Errorf("unknown -provider %q, want one of %s", *provider, strings.Join(profileNames(), ", "))
	}
	client := imsemu.Client{Secrets: []string{*secret}}
	if *scopes != "" {
		client.Scopes = strings.Split(*scopes, ",")
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	emu, err := imsemu.New(imsemu.Config{
		Clients:       map[string]imsemu.Client{*clientID: client},
		Profile:       profile,
		ExpiresIn:     *expiresIn,
		FormAnswer:    *formAnswer,
		OmitExpiresIn: *omitExpiresIn,
		Logger:        log,
	})
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", *addr, err)
	}
	srv := &http.Server{Handler: emu, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(out, "%s token endpoint emulator for client %q: http://%s%s\n", profile.Name, *clientID, l.Addr(), emu.Path())

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(l) }()
	select {
	case err := <-serveErr:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	emu.Close()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutting down: %w", err)
	}
	return nil
}

func profileNames() []string {
	var names []string
	for _, p := range imsemu.Profiles() {
		names = append(names, p.Name)
	}
	return names
}
