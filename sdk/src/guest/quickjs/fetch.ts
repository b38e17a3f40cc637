// fetch() for the QuickJS engine: one request through the host's
// wfn:function/outbound import (the allow-list and limits of
// `allowedOutboundHosts`), read whole. The guest glue's guardFetch() wraps
// it as it wraps StarlingMonkey's, adding redirects.
import { fetch as send } from "wfn:function/outbound@0.1.0";
import { Request, Response } from "./fetch-api.js";

const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

type FetchInit = ConstructorParameters<typeof Request>[1];

export async function fetch(input: string | URL | Request, init?: FetchInit): Promise<Response> {
  const request = new Request(input, init);
  const body = new Uint8Array(await request.arrayBuffer());
  let answer;
  try {
    answer = send({ method: request.method, url: request.url, headers: [...request.headers], body });
  } catch (reason) {
    // The host's sentence: "outbound request to … denied: …" or "outbound request GET … failed: …".
    throw new TypeError(typeof reason === "string" ? reason : String((reason as Error)?.message ?? reason));
  }
  const response = new Response(NULL_BODY_STATUSES.has(answer.status) || request.method === "HEAD" ? null : answer.body, { status: answer.status, headers: answer.headers });
  Object.defineProperty(response, "url", { value: request.url });
  return response;
}
