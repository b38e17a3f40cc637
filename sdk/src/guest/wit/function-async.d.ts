// Generated from sdk/wit/ by `npm run wit:types` (jco guest-types): do not edit.
/// <reference path="./interfaces/wasi-cli-environment.d.ts" />
/// <reference path="./interfaces/wasi-clocks-monotonic-clock.d.ts" />
/// <reference path="./interfaces/wasi-io-poll.d.ts" />
/// <reference path="./interfaces/wasi-random-random.d.ts" />
/// <reference path="./interfaces/wfn-function-host.d.ts" />
/// <reference path="./interfaces/wfn-function-kv.d.ts" />
/// <reference path="./interfaces/wfn-function-outbound.d.ts" />
/// <reference path="./interfaces/wfn-function-types.d.ts" />
declare module 'wfn:function/function-async@0.1.0' {
  export type Event = import('wfn:function/types@0.1.0').Event;
  export type Context = import('wfn:function/types@0.1.0').Context;
  export type Outcome = import('wfn:function/types@0.1.0').Outcome;
  export type FunctionError = import('wfn:function/types@0.1.0').FunctionError;
  export type * as WasiCliEnvironment0210 from 'wasi:cli/environment@0.2.10'; // import wasi:cli/environment@0.2.10
  export type * as WasiClocksMonotonicClock0210 from 'wasi:clocks/monotonic-clock@0.2.10'; // import wasi:clocks/monotonic-clock@0.2.10
  export type * as WasiIoPoll0210 from 'wasi:io/poll@0.2.10'; // import wasi:io/poll@0.2.10
  export type * as WasiRandomRandom0210 from 'wasi:random/random@0.2.10'; // import wasi:random/random@0.2.10
  export type * as WfnFunctionHost010 from 'wfn:function/host@0.1.0'; // import wfn:function/host@0.1.0
  export type * as WfnFunctionKv010 from 'wfn:function/kv@0.1.0'; // import wfn:function/kv@0.1.0
  export type * as WfnFunctionOutbound010 from 'wfn:function/outbound@0.1.0'; // import wfn:function/outbound@0.1.0
  export type * as WfnFunctionTypes010 from 'wfn:function/types@0.1.0'; // import wfn:function/types@0.1.0
  /**
  * Handles one invocation.
  */
  export function handle(event: Event, context: Context): Promise<Outcome>;
  export type Result<T, E> = { tag: 'ok', val: T } | { tag: 'err', val: E };
}
