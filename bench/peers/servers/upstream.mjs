// An upstream for the I/O-bound benchmark: answers every request after
// `delayMs` (default 50), or with `dead` never answers at all (it accepts
// the connection and keeps it). GET /__pending answers how many requests it
// holds now. Usage: node upstream.mjs <port> [delayMs|dead]
import { createServer } from "node:http";

const port = Number(process.argv[2]);
const mode = process.argv[3] ?? "50";
const body = '{"upstream":"ok"}';
let pending = 0;
const server = createServer((request, response) => {
  // The benchmark asks how many requests it is holding.
  if (request.url === "/__pending") return response.end(String(pending));
  if (mode === "dead") return; // never answers
  pending++;
  setTimeout(() => {
    pending--;
    response.end(body);
  }, Number(mode));
});
server.keepAliveTimeout = 60_000;
server.headersTimeout = 120_000;
server.requestTimeout = 0;
server.listen(port, "127.0.0.1");
