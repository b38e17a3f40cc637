// Peer: a plain node:http server answering GET / with {"hello":"world"} —
// the ceiling for any host written in Node. Usage: node node-http.mjs <port>
import { createServer } from "node:http";

const port = Number(process.argv[2]);
createServer((request, response) => {
  if (request.method === "GET" && request.url === "/") {
    // Serialised per request, like Response.json in the other peers.
    const body = JSON.stringify({ hello: "world" });
    response.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
    response.end(body);
    return;
  }
  response.writeHead(404).end();
}).listen(port, "127.0.0.1");
