// Package tokensecrettest helps consumers of package tokensecret test their
// own code without AWS: a fake Secrets Manager client that holds versions you
// can rotate and counts reads, a fake clock, a builder for token secret
// values, and a stand-in for the AWS Parameters and Secrets Lambda Extension.
//
//	clock := tokensecrettest.NewClock(time.Date(2026, 11, 28, 16, 0, 0, 0, time.UTC))
//	sm := tokensecrettest.NewClient()
//	sm.PutToken(tokensecrettest.NewToken("token-1", "my-client", clock.Now(), 24*time.Hour))
//	src, _ := tokensecret.New(tokensecret.Config{SecretID: "adobe-token", Client: sm, Now: clock.Now})
//	// ... exercise code that uses src ...
//	clock.Advance(23 * time.Hour)
//	sm.PutToken(tokensecrettest.NewToken("token-2", "my-client", clock.Now(), 24*time.Hour))
//	if got := sm.Reads(); got != 1 { ... }
//
// For code that only needs some token, tokensecret.StaticSource is simpler.
package tokensecrettest
