// Generated from sdk/wit/ by `npm run wit:types` (jco guest-types): do not edit.
/// <reference path="./wfn-function-types.d.ts" />
declare module 'wfn:function/outbound@0.1.0' {
  /**
   * Sends the request; the error says why it was refused or failed, in words.
   */
  export function fetch(request: OutboundRequest): HttpResponse;
  export type Fields = import('wfn:function/types@0.1.0').Fields;
  export type HttpResponse = import('wfn:function/types@0.1.0').HttpResponse;
  /**
   * A request to send: an absolute http(s) URL; header names lower-case.
   */
  export interface OutboundRequest {
    method: string,
    url: string,
    headers: Fields,
    body: Uint8Array,
  }
}
