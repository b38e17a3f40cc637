// The jco serve peer's guest: a wasi:http incoming handler written against
// the wasi:http types directly (StarlingMonkey's fetch-event handler serves
// only one request per instance, and jco serve reuses its instance), with
// the same response as every other peer.
import { Fields, OutgoingBody, OutgoingResponse, ResponseOutparam } from "wasi:http/types@0.2.10";

const encoder = new TextEncoder();

export const incomingHandler = {
  handle(_request, responseOut) {
    const body = encoder.encode(JSON.stringify({ hello: "world" }));
    const headers = Fields.fromList([
      ["content-type", encoder.encode("application/json")],
      ["content-length", encoder.encode(String(body.byteLength))],
    ]);
    const response = new OutgoingResponse(headers);
    response.setStatusCode(200);
    const outgoing = response.body();
    ResponseOutparam.set(responseOut, { tag: "ok", val: response });
    const stream = outgoing.write();
    stream.blockingWriteAndFlush(body);
    stream[Symbol.dispose]();
    OutgoingBody.finish(outgoing, undefined);
  },
};
