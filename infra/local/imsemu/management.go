package imsemu

import (
	"crypto"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ManagementPrefix starts the paths of Adobe's I/O Management API calls on
// a client's secrets, served beside the token endpoint:
//
//	GET    /console/organizations/{org_id}/credentials/{credential_id}/secrets         list
//	POST   /console/organizations/{org_id}/credentials/{credential_id}/secrets         add one (201)
//	DELETE /console/organizations/{org_id}/credentials/{credential_id}/secrets/{uuid}  remove one (204)
//
// Each call needs Authorization: Bearer with a token this server issued to
// the credential's client, with the management scopes (ManagementScopes;
// listing needs adobeio_api and read_client_secret, adding and removing
// manage_client_secrets too), and x-api-key set to the client id.
const ManagementPrefix = "/console/organizations/"

// ManagementScopes is the scope a client asks for to get a management
// token, as Adobe's docs list it. The client must be allowed each of them
// (Client.Scopes empty, or holding them all).
const ManagementScopes = "AdobeID,openid,read_organizations,additional_info.projectedProductContext,additional_info.roles,adobeio_api,read_client_secret,manage_client_secrets"

// client is a registered client as the server holds it.
type client struct {
	secrets             []secret
	scopes              []string
	orgID, credentialID string
	// publicKey, keyID and audience are a private_key_jwt client's (see
	// Client).
	publicKey crypto.PublicKey
	keyID     string
	audience  string
	// certSHA256 and certSHA1 are the registered certificate's
	// thumbprints; nil without a certificate.
	certSHA256, certSHA1 []byte
	// federated are the client's federated identity credentials.
	federated []FederatedCredential
}

// secret is one client secret: its value, which only the add's answer ever
// shows, its uuid, and when it was created and last used.
type secret struct {
	value    string
	uuid     string
	created  time.Time
	lastUsed time.Time // zero: never used
}

// SecretInfo describes a client secret at the server, without its value.
type SecretInfo struct {
	// UUID identifies the secret, as on the Developer Console.
	UUID string
	// CreatedAt is when the secret was registered or added.
	CreatedAt time.Time
	// LastUsedAt is the last token request authenticated with the secret;
	// zero when it never authenticated one.
	LastUsedAt time.Time
}

// newClient builds a client from c and its cleaned secrets, keeping the
// uuid, creation and last use of each secret old already held.
func (s *Server) newClient(old *client, secrets []string, c Client) *client {
	out := &client{scopes: slices.Clone(c.Scopes), orgID: c.OrgID, credentialID: c.CredentialID,
		publicKey: c.PublicKey, keyID: c.KeyID, audience: c.Audience, federated: slices.Clone(c.Federated)}
	if c.Certificate != nil {
		s256, s1 := sha256.Sum256(c.Certificate.Raw), sha1.Sum(c.Certificate.Raw)
		out.certSHA256, out.certSHA1 = s256[:], s1[:]
	}
	now := s.now()
	for _, v := range secrets {
		sec := secret{value: v, uuid: newDebugID(), created: now}
		if old != nil {
			if i := slices.IndexFunc(old.secrets, func(o secret) bool { return o.value == v }); i >= 0 {
				sec = old.secrets[i]
			}
		}
		out.secrets = append(out.secrets, sec)
	}
	return out
}

// Secrets describes the client's current secrets, oldest first; false when
// there is no such client.
func (s *Server) Secrets(clientID string) ([]SecretInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clients[clientID]
	if !ok {
		return nil, false
	}
	out := make([]SecretInfo, 0, len(c.secrets))
	for _, sec := range c.secrets {
		out = append(out, SecretInfo{UUID: sec.uuid, CreatedAt: sec.created, LastUsedAt: sec.lastUsed})
	}
	return out, true
}

// serveManagement answers a call under ManagementPrefix.
func (s *Server) serveManagement(w http.ResponseWriter, r *http.Request, debugID string) {
	var status int
	var clientID, fault string
	if f, ok := s.nextManagementFault(r.Method); ok {
		status, clientID = s.serveManagementFault(w, r, f)
		fault = f.Fault.Name
	} else {
		status, clientID = s.manage(w, r)
	}
	s.logger.Info("management request", "method", r.Method, "path", r.URL.Path, "status", status,
		"client_id", clientID, "debug_id", debugID, "fault", fault)
}

// manage routes, authorizes and runs one management call, and returns the
// status written and the client id it acted for.
func (s *Server) manage(w http.ResponseWriter, r *http.Request) (int, string) {
	// organizations/{org}/credentials/{cred}/secrets[/{uuid}]
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, ManagementPrefix), "/")
	if len(parts) < 4 || len(parts) > 5 || parts[1] != "credentials" || parts[3] != "secrets" || slices.Contains(parts, "") {
		return writeMgmtError(w, http.StatusNotFound, "not_found", "no such endpoint"), ""
	}
	org, cred := parts[0], parts[2]
	var uuid string
	if len(parts) == 5 {
		uuid = parts[4]
	}
	allowed := []string{http.MethodGet, http.MethodPost}
	if uuid != "" {
		allowed = []string{http.MethodDelete}
	}
	if !slices.Contains(allowed, r.Method) {
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		return writeMgmtError(w, http.StatusMethodNotAllowed, "method_not_allowed", "method not allowed"), ""
	}
	need := []string{"adobeio_api", "read_client_secret"}
	if r.Method != http.MethodGet {
		need = append(need, "manage_client_secrets")
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	clientID, status, code, msg := s.authorize(r, need)
	if status != 0 {
		return writeMgmtError(w, status, code, msg), clientID
	}
	c := s.clients[clientID]
	if c.orgID != org || c.credentialID != cred {
		return writeMgmtError(w, http.StatusForbidden, "forbidden", "the token's client is not this organization's credential"), clientID
	}
	switch {
	case r.Method == http.MethodGet:
		return s.list(w, clientID, c), clientID
	case r.Method == http.MethodPost:
		return s.add(w, c), clientID
	default:
		return s.remove(w, c, uuid), clientID
	}
}

// authorize checks the bearer token and x-api-key of r and that the token
// holds the needed scopes. It returns the client id, or a refusal's status
// (0 when none), code and message. s.mu is held.
func (s *Server) authorize(r *http.Request, need []string) (clientID string, status int, code, msg string) {
	h := r.Header.Get("Authorization")
	const prefix = "Bearer "
	if len(h) <= len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return "", http.StatusUnauthorized, "unauthorized", "missing bearer token"
	}
	tok := strings.TrimSpace(h[len(prefix):])
	i := slices.IndexFunc(s.issued, func(t Issued) bool { return t.AccessToken == tok })
	if i < 0 {
		return "", http.StatusUnauthorized, "unauthorized", "invalid or expired token"
	}
	t := s.issued[i]
	if !s.now().Before(t.IssuedAt.Add(time.Duration(s.expiresIn) * time.Second)) {
		return t.ClientID, http.StatusUnauthorized, "unauthorized", "invalid or expired token"
	}
	if r.Header.Get("x-api-key") != t.ClientID {
		return t.ClientID, http.StatusForbidden, "forbidden", "x-api-key does not match the token's client"
	}
	if _, ok := s.clients[t.ClientID]; !ok {
		return t.ClientID, http.StatusUnauthorized, "unauthorized", "the token's client no longer exists"
	}
	have := splitScope(t.Scope, ",")
	for _, n := range need {
		if !slices.Contains(have, n) {
			return t.ClientID, http.StatusForbidden, "insufficient_scope", "the token lacks scope " + n
		}
	}
	return t.ClientID, 0, "", ""
}

// list writes the client's secrets as Adobe does: never a value.
func (s *Server) list(w http.ResponseWriter, clientID string, c *client) int {
	type usage struct {
		LastUsedAt string `json:"last_used_at"`
		GrantType  string `json:"grant_type"`
	}
	type entry struct {
		UUID         string  `json:"uuid"`
		CreatedAt    string  `json:"created_at"`
		ExpiresAt    string  `json:"expires_at"`
		SecretUsages []usage `json:"secret_usages"`
	}
	out := struct {
		ClientID      string  `json:"client_id"`
		ClientSecrets []entry `json:"client_secrets"`
	}{ClientID: clientID, ClientSecrets: []entry{}}
	for _, sec := range c.secrets {
		e := entry{UUID: sec.uuid, CreatedAt: millis(sec.created), ExpiresAt: "PERMANENT"}
		if !sec.lastUsed.IsZero() {
			e.SecretUsages = []usage{{LastUsedAt: millis(sec.lastUsed), GrantType: "client_credentials"}}
		}
		out.ClientSecrets = append(out.ClientSecrets, e)
	}
	return writeMgmtJSON(w, http.StatusOK, out)
}

// add registers a new secret and writes it, the only time its value is
// shown. A third secret is refused: Adobe allows two, and what it answers
// to a third is not documented, so the emulator answers 400.
func (s *Server) add(w http.ResponseWriter, c *client) int {
	if len(c.secrets) >= MaxSecrets {
		return writeMgmtError(w, http.StatusBadRequest, "max_secrets_reached",
			"a credential holds at most "+strconv.Itoa(MaxSecrets)+" client secrets; delete one first")
	}
	sec := secret{value: "p8e-" + newToken(), uuid: newDebugID(), created: s.now()}
	c.secrets = append(c.secrets, sec)
	return writeMgmtJSON(w, http.StatusCreated, map[string]string{
		"client_secret": sec.value, "uuid": sec.uuid, "created_at": millis(sec.created), "expires_at": "PERMANENT",
	})
}

// remove deletes the secret with uuid: a secret is named by its uuid only.
func (s *Server) remove(w http.ResponseWriter, c *client, uuid string) int {
	i := slices.IndexFunc(c.secrets, func(sec secret) bool { return sec.uuid == uuid })
	if i < 0 {
		return writeMgmtError(w, http.StatusNotFound, "not_found", "no client secret with this uuid")
	}
	c.secrets = slices.Delete(c.secrets, i, i+1)
	w.WriteHeader(http.StatusNoContent)
	return http.StatusNoContent
}

// millis writes t as milliseconds since the epoch, in a string, as Adobe does.
func millis(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

func writeMgmtJSON(w http.ResponseWriter, status int, v any) int {
	body, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
	return status
}

func writeMgmtError(w http.ResponseWriter, status int, code, message string) int {
	return writeMgmtJSON(w, status, map[string]string{"error_code": code, "message": message})
}
