// Verifies client assertions with panva's jose, as a third party would:
// reads [{name, jwk, alg, jwt, iss, aud}] as JSON on stdin and prints
// [{name, ok, header, error}] as JSON. jose resolves from node_modules
// beside this file (the npm cache folder the Go test installs it in).
import { importJWK, jwtVerify } from 'jose';

const chunks = [];
for await (const c of process.stdin) chunks.push(c);
const cases = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const results = [];
for (const c of cases) {
  try {
    const key = await importJWK(c.jwk, c.alg);
    const { protectedHeader } = await jwtVerify(c.jwt, key, {
      algorithms: [c.alg],
      issuer: c.iss,
      subject: c.iss,
      audience: c.aud,
      typ: 'JWT',
      requiredClaims: ['jti', 'iat', 'nbf', 'exp'],
      maxTokenAge: '5m',
    });
    results.push({ name: c.name, ok: true, header: protectedHeader });
  } catch (e) {
    results.push({ name: c.name, ok: false, error: `${e.code ?? ''} ${e.message}` });
  }
}
process.stdout.write(JSON.stringify(results));
