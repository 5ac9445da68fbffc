// Runs the README's Node.js block for infra/readmecode (see its package doc).
//
// Reads one request a line on stdin and answers each with one line on
// stdout, starting with "readmecode: ". It never prints a token, only
// fingerprints.
//
//   load SECRET_ID API_URL  runs a fresh instance of the block (a new module
//                           URL), with TOKEN_SECRET_ID=SECRET_ID and the
//                           block's one free variable, url, set to API_URL
//   get                     calls its adobeToken() again
import { createHash } from "node:crypto";
import { createInterface } from "node:readline";

const BLOCK = "./readme-block.mjs"; // the README's block, as is, next to this file

const fingerprint = (s) => createHash("sha256").update(String(s)).digest("hex").slice(0, 16);
const reply = (...fields) => process.stdout.write(["readmecode:", ...fields].join(" ") + "\n");

// Load the SDK before saying ready, so that "load" times the block alone.
await import("@aws-sdk/client-secrets-manager");
reply("ready");

let block;
let loads = 0;
for await (const line of createInterface({ input: process.stdin })) {
  const request = line.split(" ");
  try {
    if (request[0] === "load" && request.length === 3) {
      block = undefined;
      process.env.TOKEN_SECRET_ID = request[1];
      globalThis.url = request[2]; // the API the usage lines call: it records the headers
      block = await import(new URL(`${BLOCK}?load=${++loads}`, import.meta.url).href);
      reply("ok", "-", "-");
    } else if (line === "get" && block) {
      const { accessToken, clientId } = await block.adobeToken();
      reply("ok", fingerprint(accessToken), clientId);
    } else {
      reply("error", `unexpected request ${JSON.stringify(line)}`);
    }
  } catch (e) {
    reply("error", `${e?.name ?? "Error"}: ${e?.message ?? e}`.replaceAll("\n", " "));
  }
}
