// Guest stack traces name their own source: a function's bundle is built
// with a source map, which `wfn build` stores in the component (a custom
// section, so it travels wherever the component does: build folders,
// deploys, the store), and positions in the bundle (`function.js:82:13`)
// in log lines and error stacks are rewritten to the project's files
// (`src/index.ts:12:5`).
import { SourceMap, type SourceMapPayload } from "node:module";
import { customSection } from "./wasm-binary.js";

/** The custom section of a component that holds its bundle's source map (JSON). */
export const SOURCE_MAP_SECTION = "wfn:source-map";

/** How the engines name a position in a function's bundle, line and column from 1: `function.js:L:C` (StarlingMonkey), `componentize-qjs:user.js:L:C` (QuickJS). */
const POSITION = /(?:\bfunction\.js|\bcomponentize-qjs:user\.js):(\d+):(\d+)/g;

/** Whether `text` may hold such a position (cheap, before any parsing). */
export function mayHoldPositions(text: string): boolean {
  return text.includes("function.js:") || text.includes("user.js:");
}

/** The source map a component carries, as JSON text, if it has one. */
export function componentSourceMap(component: Uint8Array): string | undefined {
  const payload = customSection(component, SOURCE_MAP_SECTION);
  return payload === undefined ? undefined : new TextDecoder().decode(payload);
}

/** Rewrites positions in a function's bundle to positions in its sources. */
export class StackMapper {
  readonly #map: SourceMap;

  /** `json`: the bundle's source map (version 3). */
  constructor(json: string) {
    this.#map = new SourceMap(JSON.parse(json) as SourceMapPayload);
  }

  /** `text` with every `function.js:L:C` that the map knows replaced by `<source>:<line>:<column>`. */
  map(text: string): string {
    if (!mayHoldPositions(text)) return text;
    return text.replace(POSITION, (whole, line: string, column: string) => {
      const generatedLine = Number(line) - 1;
      const entry = this.#map.findEntry(generatedLine, Math.max(0, Number(column) - 1));
      // Only a mapping on that very line says where it came from (findEntry otherwise answers the nearest one).
      if (!("originalSource" in entry) || entry.originalSource === undefined || entry.generatedLine !== generatedLine) return whole;
      return `${entry.originalSource}:${entry.originalLine + 1}:${entry.originalColumn + 1}`;
    });
  }
}
