package oauthtoken

// Scrubber removes secrets from text another peer of the same credential
// sends back (the provider's management API, say), as a Fetcher scrubs
// what a token endpoint sends: every form of a client secret that a
// request carries or an echo may print, and other values as they are.
// The zero value scrubs nothing but control characters and length.
type Scrubber struct{ sc scrubber }

// NewScrubber returns a Scrubber for every form of each of creds' secrets
// (see Fetcher) and for each of extra as is, such as a bearer token.
func NewScrubber(creds []Credentials, extra ...string) Scrubber {
	var forms []string
	for _, c := range creds {
		forms = append(forms, secretForms(c)...)
	}
	return Scrubber{newScrubber(append(forms, extra...)...)}
}

// Scrub returns s without the scrubber's secrets, with control characters
// turned into spaces, shortened to 300 bytes.
func (s Scrubber) Scrub(text string) string { return s.sc.scrub(text) }
