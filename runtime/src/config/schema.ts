// Validates JSON documents against wfn's JSON Schemas (the same files
// editors use) and turns Ajv's findings into sentences that name the field.
import { readFileSync } from "node:fs";
import { capabilitySchema } from "../capabilities/config.js";
import { didYouMean } from "../util/did-you-mean.js";
import { FUNCTION_NAME_PATTERN } from "./names.js";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";

/** Location of the `wfn.json` JSON Schema shipped with the runtime. */
export const PROJECT_SCHEMA_URL = new URL("../../schema/wfn.schema.json", import.meta.url);
export const PROJECT_SCHEMA_ID = "urn:wfn:schema:project";

/** One thing wrong with a document: where (a dotted path) and what. */
export interface SchemaProblem {
  path: string;
  message: string;
}

let ajv: Ajv | undefined;

/**
 * The project schema as validation uses it: the shipped file (what editors
 * read) with each capability's function properties taken from the
 * capability itself (a unit test checks the file has them too).
 */
export function projectSchema(): { definitions: { function: { properties: Record<string, unknown> } } } {
  const schema = JSON.parse(readFileSync(PROJECT_SCHEMA_URL, "utf8")) as { definitions: { function: { properties: Record<string, unknown> } } };
  Object.assign(schema.definitions.function.properties, capabilitySchema());
  return schema;
}

function compiler(): Ajv {
  if (ajv === undefined) {
    // verbose: errors carry their schema, whose properties name what a mistyped field may have meant.
    ajv = new Ajv({ allErrors: true, strict: true, useDefaults: false, verbose: true });
    ajv.addSchema(projectSchema());
  }
  return ajv;
}

const validators = new Map<string, ValidateFunction>();

interface PropertySchema {
  default?: unknown;
  minimum?: number;
  maximum?: number;
  properties?: Record<string, PropertySchema>;
}

/**
 * A definition's defaults and bounds as the schema states them
 * (`definitions.<name>.properties`, a dotted path for nested ones):
 * configuration code takes them from here, never from a copy.
 */
export function schemaFacts(definition: "function" | "queue"): {
  default<T>(path: string): T;
  limits(path: string): { min: number; max: number };
} {
  const root = (projectSchema() as unknown as { definitions: Record<string, PropertySchema> }).definitions[definition]!;
  const at = (path: string): PropertySchema => {
    let node: PropertySchema | undefined = root;
    for (const part of path.split(".")) node = node?.properties?.[part];
    if (node === undefined) throw new Error(`wfn.schema.json has no ${definition}.${path}`);
    return node;
  };
  return {
    default<T>(path: string): T {
      const node = at(path);
      if (!("default" in node)) throw new Error(`wfn.schema.json gives ${definition}.${path} no default`);
      return structuredClone(node.default) as T;
    },
    limits(path: string) {
      const node = at(path);
      if (node.minimum === undefined || node.maximum === undefined) throw new Error(`wfn.schema.json gives ${definition}.${path} no minimum and maximum`);
      return { min: node.minimum, max: node.maximum };
    },
  };
}

/** Returns a validator for a schema (by `$id`, or an inline schema object keyed by `key`). */
export function validatorFor(key: string, schema?: object): (value: unknown) => SchemaProblem[] {
  let validate = validators.get(key);
  if (validate === undefined) {
    const compiled = schema === undefined ? compiler().getSchema(key) : compiler().compile(schema);
    if (compiled === undefined) throw new Error(`unknown schema ${key}`);
    validate = compiled;
    validators.set(key, validate);
  }
  const fn = validate;
  return (value) => (fn(value) ? [] : describeErrors(fn.errors ?? []));
}

/** Validates a parsed `wfn.json`. */
export function validateProjectDocument(value: unknown): SchemaProblem[] {
  return validatorFor(PROJECT_SCHEMA_ID)(value);
}

function describeErrors(errors: readonly ErrorObject[]): SchemaProblem[] {
  const seen = new Set<string>();
  const problems: SchemaProblem[] = [];
  for (const error of errors) {
    // propertyNames failures are reported twice by Ajv (pattern + propertyNames).
    if (error.keyword === "propertyNames") continue;
    const problem = describe(error);
    const key = `${problem.path}\u0000${problem.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      problems.push(problem);
    }
  }
  return problems;
}

function describe(error: ErrorObject): SchemaProblem {
  const path = toDotted(error.instancePath);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case "required":
      return { path, message: `missing required field "${String(params.missingProperty)}"` };
    case "additionalProperties":
      return { path, message: `unknown field "${String(params.additionalProperty)}"${didYouMean(String(params.additionalProperty), Object.keys((error.parentSchema as { properties?: object } | undefined)?.properties ?? {}))}` };
    case "type":
      return { path, message: `must be ${article(String(params.type))}` };
    case "minimum":
    case "maximum":
      return { path, message: `must be ${error.keyword === "minimum" ? "at least" : "at most"} ${String(params.limit)}` };
    case "minLength":
      return { path, message: "must not be empty" };
    case "minProperties":
      return { path, message: `must have at least ${String(params.limit)} entr${params.limit === 1 ? "y" : "ies"}` };
    case "pattern":
      if (params.pattern === FUNCTION_NAME_PATTERN.source && error.propertyName !== undefined) {
        return { path, message: `"${error.propertyName}" is not a valid function name (letters, digits, "-" and "_", at most 64)` };
      }
      if (error.propertyName !== undefined) {
        return { path, message: `"${error.propertyName}" is not a valid name (must match ${String(params.pattern)})` };
      }
      return { path, message: `must match ${String(params.pattern)}` };
    case "enum":
      return { path, message: `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}` };
    case "const":
      return { path, message: `must be ${JSON.stringify(params.allowedValue)}` };
    default:
      return { path, message: error.message ?? "is invalid" };
  }
}

function toDotted(pointer: string): string {
  if (pointer === "") return "";
  return pointer
    .slice(1)
    .split("/")
    .map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"))
    .map((part, index) => (/^\d+$/.test(part) ? `[${part}]` : index === 0 ? part : `.${part}`))
    .join("");
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}
