// Node's `url` module for function bundles: the web's URL and
// URLSearchParams, the legacy parse/format/resolve of the `url` package,
// and the file-URL conversions for POSIX paths.
import legacy from "url/";

export const { parse, format, resolve, resolveObject, Url } = legacy;
export const URL = globalThis.URL;
export const URLSearchParams = globalThis.URLSearchParams;

/** `file:///a/b%20c` to `/a/b c`. */
export function fileURLToPath(url) {
  const parsed = typeof url === "string" ? new URL(url) : url;
  if (parsed.protocol !== "file:") throw new TypeError(`The URL must be of scheme file: ${String(url)}`);
  return decodeURIComponent(parsed.pathname);
}

/** `/a/b c` to `file:///a/b%20c`. */
export function pathToFileURL(path) {
  return new URL(`file://${String(path).split("/").map(encodeURIComponent).join("/")}`);
}

export default { ...legacy, URL, URLSearchParams, fileURLToPath, pathToFileURL };
