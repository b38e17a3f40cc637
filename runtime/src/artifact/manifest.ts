// The manifest `wfn build` writes beside each component, and its validation.
import type { FunctionConfig } from "../config/function-config.js";
import { FUNCTION_NAME_PATTERN } from "../config/names.js";
import { PROJECT_SCHEMA_ID, validatorFor, type SchemaProblem } from "../config/schema.js";

/** The WIT world components target. */
export const WORLD = "wfn:function/function@0.1.0";
/** The same world with `handle` lifted async, for engines that run promises inside the component (QuickJS). */
export const ASYNC_WORLD = "wfn:function/function-async@0.1.0";
/**
 * The standard world of HTTP components built by other toolchains (Spin's
 * SDKs, componentize-js, cargo-component, TinyGo): exports
 * wasi:http/incoming-handler, at any 0.2.x version.
 */
export const PROXY_WORLD = "wasi:http/proxy@0.2";
export const MANIFEST_VERSION = 1;
export const MANIFEST_FILE = "manifest.json";
export const COMPONENT_FILE = "component.wasm";

/** Describes one built function: what it is, how it was built, how it is configured. */
export interface Manifest {
  manifestVersion: typeof MANIFEST_VERSION;
  name: string;
  world: typeof WORLD | typeof ASYNC_WORLD | typeof PROXY_WORLD;
  /**
   * What runs the function's code inside the component: StarlingMonkey or
   * QuickJS for JavaScript/TypeScript, or `prebuilt` for a component made
   * by another toolchain (the version then says what the entry was).
   */
  engine: { name: "starlingmonkey" | "quickjs" | "prebuilt"; version: string };
  /** Version of @wfn/sdk the function was built with. */
  sdkVersion: string;
  component: {
    file: string;
    /** Lower-case hex SHA-256 of the component bytes. */
    sha256: string;
    size: number;
  };
  /** SHA-256 of the bundled source that was componentized. */
  sourceSha256: string;
  config: FunctionConfig;
}

const MANIFEST_SCHEMA = {
  $id: "urn:wfn:schema:manifest",
  type: "object",
  required: ["manifestVersion", "name", "world", "engine", "sdkVersion", "component", "sourceSha256", "config"],
  additionalProperties: false,
  properties: {
    manifestVersion: { const: MANIFEST_VERSION },
    name: { type: "string", pattern: FUNCTION_NAME_PATTERN.source },
    world: { enum: [WORLD, ASYNC_WORLD, PROXY_WORLD] },
    engine: {
      type: "object",
      required: ["name", "version"],
      additionalProperties: false,
      properties: { name: { enum: ["starlingmonkey", "quickjs", "prebuilt"] }, version: { type: "string" } },
    },
    sdkVersion: { type: "string" },
    component: {
      type: "object",
      required: ["file", "sha256", "size"],
      additionalProperties: false,
      properties: {
        file: { type: "string", pattern: "^[A-Za-z0-9._-]+\\.wasm$" },
        sha256: { type: "string", pattern: "^[0-9a-f]{64}$" },
        size: { type: "integer", minimum: 1 },
      },
    },
    sourceSha256: { type: "string", pattern: "^[0-9a-f]{64}$" },
    config: {
      allOf: [
        { $ref: `${PROJECT_SCHEMA_ID}#/definitions/function` },
        {
          type: "object",
          required: ["entry", "routes", "env", "memoryMB", "timeoutMs", "minInstances", "maxConcurrency", "isolation", "allowedOutboundHosts", "style", "async", "auth"],
          properties: { style: { enum: ["web", "lambda"] } },
        },
      ],
    },
  },
} as const;

/** Validates a parsed manifest; returns the problems (empty when valid). */
export function validateManifest(value: unknown): SchemaProblem[] {
  return validatorFor("urn:wfn:schema:manifest", MANIFEST_SCHEMA)(value);
}
