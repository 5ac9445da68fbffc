package config

import "net/url"

// ShowURL returns raw as logs, results and errors show it: scheme, host
// and path only. User information, query and fragment are left out: a
// TOKEN_URL or TEST_URL may carry a key there. A URL without a host shows
// as its path, an opaque one (mailto:x) as its scheme and "…", and one
// that does not parse as "(not a URL)".
func ShowURL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "(not a URL)"
	}
	if u.Opaque != "" {
		return u.Scheme + ":…"
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}).String()
}
