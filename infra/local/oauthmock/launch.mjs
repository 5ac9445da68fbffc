// Starts oauth2-mock-server for the Go package oauthmock, which writes this
// file next to the npm installation and runs it with node.
//
// Environment: OAUTHMOCK_LIFETIME, the token lifetime in whole seconds.
// Output, one line each: "oauthmock listening on <issuer URL>" once ready,
// then "oauthmock token request <JSON>" for every token the server issues,
// with the grant type, how the client authenticated, its id and the scope;
// never the client secret nor the token.
import { OAuth2Server } from "oauth2-mock-server";

const lifetime = Number.parseInt(process.env.OAUTHMOCK_LIFETIME ?? "", 10);
if (!(lifetime > 0)) {
  console.error("oauthmock: OAUTHMOCK_LIFETIME must be a number of seconds above zero");
  process.exit(2);
}

const server = new OAuth2Server();
await server.issuer.keys.generate("RS256");

// The server signs every token for 3600 s and says so in expires_in; both
// follow OAUTHMOCK_LIFETIME instead, through its documented hooks.
server.service.on("beforeTokenSigning", (token) => {
  token.payload.exp = token.payload.iat + lifetime;
});
server.service.on("beforeResponse", (response, req) => {
  if (response.statusCode === 200 && "expires_in" in response.body) {
    response.body.expires_in = lifetime;
  }
  console.log("oauthmock token request " + JSON.stringify(describe(req, response.statusCode)));
});

// describe says who asked for what, without the secret.
function describe(req, status) {
  const body = req.body ?? {};
  const header = req.headers.authorization ?? "";
  let auth = "none";
  let clientID = typeof body.client_id === "string" ? body.client_id : undefined;
  if (/^basic /i.test(header)) {
    auth = "basic";
    const pair = Buffer.from(header.slice(6).trim(), "base64").toString("utf8");
    const name = pair.includes(":") ? pair.slice(0, pair.indexOf(":")) : pair;
    try {
      clientID = decodeURIComponent(name.replace(/\+/g, " "));
    } catch {
      clientID = name;
    }
  } else if (typeof body.client_secret === "string") {
    auth = "body";
  }
  return { grant_type: body.grant_type, auth, client_id: clientID, scope: body.scope, aud: body.aud, status };
}

// Listening on 127.0.0.1 would make the issuer http://localhost:PORT; the
// token URL the tests use names 127.0.0.1, and so should iss.
await server.start(0, "127.0.0.1");
server.issuer.url = "http://127.0.0.1:" + server.address().port;
console.log("oauthmock listening on " + server.issuer.url);
