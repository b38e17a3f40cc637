// Unknown fields in a Kubernetes manifest (a typo such as `readinesProbe`):
// the API server refuses them (kubectl's strict field validation), while
// kubernetes-models' JSON schemas let them through. The fields each object
// may have are read from kubernetes-models' type declarations, following the
// types of nested objects.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";

/** The declaration file of module `specifier` (`kubernetes-models/apps/v1/Deployment`) as seen from `from`: the packages' exports maps hide the files, so the path is joined to the package's folder. */
function declarationFile(specifier: string, from: string): string {
  if (specifier.startsWith(".")) return resolve(dirname(from), specifier).replace(/\.js$/, "") + ".d.ts";
  const parts = specifier.split("/");
  const name = parts.slice(0, specifier.startsWith("@") ? 2 : 1).join("/");
  const root = dirname(createRequire(from).resolve(`${name}/package.json`));
  return join(root, ...parts.slice(name.split("/").length)) + ".d.ts";
}

interface Shape {
  /** Field name → the declaration file of its object type (undefined: a scalar or a map, not checked further). */
  fields: Map<string, string | undefined>;
}

const shapes = new Map<string, Shape>();

function shapeOf(file: string): Shape {
  const known = shapes.get(file);
  if (known !== undefined) return known;
  const text = readFileSync(file, "utf8");
  const imports = new Map<string, string>();
  for (const [, name, from] of text.matchAll(/^import \{ (\w+) \} from "([^"]+)";$/gm)) {
    imports.set(name!, declarationFile(from!, file));
  }
  const body = /^export interface \w+[^{\n]*\{\n([\s\S]*?)^\}/m.exec(text)?.[1] ?? "";
  const fields = new Map<string, string | undefined>();
  // A field per line at the interface's indentation; a map's type (`{ [key: string]: string }`) spans lines.
  for (const [, name, type] of body.matchAll(/^ {4}"([^"]+)"\??: (.+?);?$/gm)) {
    const object = /^(?:Array<)?(\w+)>?$/.exec(type!.trim())?.[1];
    fields.set(name!, object === undefined ? undefined : imports.get(object));
  }
  const shape = { fields };
  shapes.set(file, shape);
  return shape;
}

/** Paths of the fields of `value` that its type (the declaration file of a kubernetes-models class) does not have. */
export function unknownFields(value: unknown, declaration: string, path = ""): string[] {
  if (Array.isArray(value)) return value.flatMap((item, index) => unknownFields(item, declaration, `${path}[${index}]`));
  if (value === null || typeof value !== "object") return [];
  const { fields } = shapeOf(declaration);
  return Object.entries(value as Record<string, unknown>).flatMap(([name, field]) => {
    if (!fields.has(name)) return [`${path}.${name}`];
    const nested = fields.get(name);
    return nested === undefined ? [] : unknownFields(field, nested, `${path}.${name}`);
  });
}

/** The declaration file of a kubernetes-models module (`kubernetes-models/apps/v1/Deployment`). */
export function declarationOf(module: string): string {
  return declarationFile(module, import.meta.filename);
}
