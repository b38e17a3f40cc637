// Which outbound HTTP requests a function may make: its
// `allowedOutboundHosts`, each `scheme://host[:port]`, where the scheme may be
// `*`, the host may be `*` or start with `*.` (any subdomain), and the port
// may be `*` (default: the scheme's).

/** One parsed `allowedOutboundHosts` entry. */
export interface OutboundRule {
  scheme: "http" | "https" | "*";
  /** Exact host, `*` for any, or a suffix starting with `.` for `*.domain`. */
  host: string;
  /** Exact port, `*` for any, or undefined for the scheme's default. */
  port: number | "*" | undefined;
  source: string;
}

const DEFAULT_PORT: Record<string, number> = { http: 80, https: 443 };

/** Parses one entry; returns a sentence when it is malformed. */
export function parseOutboundRule(source: string): OutboundRule | string {
  const match = /^(\*|https?):\/\/(\[[0-9a-fA-F:.]+\]|[^/:?#]+)(?::(\*|\d{1,5}))?\/?$/.exec(source.trim());
  if (match === null) return `"${source}" is not scheme://host[:port] (for example "https://api.example.com" or "https://*.example.com")`;
  const [, scheme, rawHost, rawPort] = match;
  const host = rawHost!.toLowerCase();
  if (host.includes("*") && host !== "*" && !(host.startsWith("*.") && !host.slice(2).includes("*"))) {
    return `"${source}": a wildcard host is "*" or starts with "*." (like "*.example.com")`;
  }
  let port: OutboundRule["port"];
  if (rawPort === "*") port = "*";
  else if (rawPort !== undefined) {
    port = Number(rawPort);
    if (port < 1 || port > 65535) return `"${source}": port ${rawPort} is out of range`;
  }
  return { scheme: scheme as OutboundRule["scheme"], host: host.startsWith("*.") ? host.slice(1) : host, port, source };
}

/** Parses every entry, dropping malformed ones (configuration validation reports them). */
export function parseOutboundRules(sources: readonly string[]): OutboundRule[] {
  return sources.map(parseOutboundRule).filter((rule): rule is OutboundRule => typeof rule !== "string");
}

/** Whether `url` is allowed by one of `rules`. */
export function isOutboundAllowed(url: URL, rules: readonly OutboundRule[]): boolean {
  const scheme = url.protocol.slice(0, -1);
  if (scheme !== "http" && scheme !== "https") return false;
  const host = url.hostname.toLowerCase();
  const port = url.port === "" ? DEFAULT_PORT[scheme]! : Number(url.port);
  return rules.some((rule) => {
    if (rule.scheme !== "*" && rule.scheme !== scheme) return false;
    if (rule.host !== "*" && !(rule.host.startsWith(".") ? host.endsWith(rule.host) && host.length > rule.host.length : host === rule.host)) return false;
    if (rule.port === "*") return true;
    return (rule.port ?? DEFAULT_PORT[scheme]) === port;
  });
}

/** The sentence a denied request is refused with: names the host and the configuration key. */
export function denialReason(url: URL, functionName: string): string {
  const origin = `${url.protocol}//${url.host}`;
  return `outbound request to ${origin} denied: ${origin} is not in allowedOutboundHosts of function "${functionName}" (add it in wfn.json to allow it)`;
}
