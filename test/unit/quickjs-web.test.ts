// The web classes the sdk brings to the QuickJS engine, checked against
// Node's own (the standard implementations) on the same inputs. They run
// here in Node; test/http.test.ts and test/quickjs.test.ts run them inside
// QuickJS components.
import { describe, expect, it } from "vitest";
import { TextDecoder, TextEncoder } from "../../sdk/dist/guest/quickjs/text.js";
import { Headers, Request, Response } from "../../sdk/dist/guest/quickjs/fetch-api.js";

const samples = ["", "plain ascii", "héllo wörld", "日本語のテキスト", "emoji 😀 and 🏳️‍🌈", "lone \ud800 high", "lone \udc00 low", "end \ud83d", "\u0000\u007f\u0080\u07ff\u0800\uffff"];

describe("TextEncoder", () => {
  it("encodes every sample as Node does, lone surrogates included", () => {
    for (const text of samples) expect([...new TextEncoder().encode(text)], JSON.stringify(text)).toEqual([...new globalThis.TextEncoder().encode(text)]);
  });

  it("encodeInto stops at a whole character when the destination is full, as Node does", () => {
    for (const size of [0, 1, 2, 3, 4, 5, 7]) {
      const ours = new Uint8Array(size);
      const theirs = new Uint8Array(size);
      expect(new TextEncoder().encodeInto("a€😀b", ours), `size ${size}`).toEqual(new globalThis.TextEncoder().encodeInto("a€😀b", theirs));
      expect([...ours]).toEqual([...theirs]);
    }
  });
});

describe("TextDecoder", () => {
  const malformed = [
    [0xff],
    [0xc3],
    [0xe2, 0x82],
    [0xf0, 0x9f, 0x98],
    [0xed, 0xa0, 0x80],
    [0xc0, 0xaf],
    [0xe0, 0x80, 0xaf],
    [0xf4, 0x90, 0x80, 0x80],
    [0x61, 0x80, 0x62],
    [0xef, 0xbb, 0xbf, 0x68, 0x69],
  ];

  it("decodes valid and malformed UTF-8 with the replacement characters Node gives, and drops a leading BOM", () => {
    for (const text of samples) {
      const bytes = new globalThis.TextEncoder().encode(text);
      expect(new TextDecoder().decode(bytes)).toBe(new globalThis.TextDecoder().decode(bytes));
    }
    for (const bytes of malformed) expect(new TextDecoder().decode(Uint8Array.from(bytes)), bytes.join(",")).toBe(new globalThis.TextDecoder().decode(Uint8Array.from(bytes)));
  });

  it("throws on malformed input with fatal, and keeps a split character across stream calls", () => {
    expect(() => new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from([0xff]))).toThrow(TypeError);
    const bytes = new globalThis.TextEncoder().encode("a😀b€");
    for (let cut = 0; cut <= bytes.length; cut++) {
      const decoder = new TextDecoder();
      expect(decoder.decode(bytes.subarray(0, cut), { stream: true }) + decoder.decode(bytes.subarray(cut)), `cut at ${cut}`).toBe("a😀b€");
    }
  });

  it("refuses an encoding it does not know, in words", () => {
    expect(() => new TextDecoder("latin1")).toThrow(/not supported on this engine/);
  });
});

describe("Headers", () => {
  it("iterates sorted, joins repeated names, keeps set-cookie apart and matches names without case, as Node does", () => {
    const init: Array<[string, string]> = [["B", "2"], ["a", "1"], ["A", " 3 "], ["Set-Cookie", "x=1"], ["set-cookie", "y=2"]];
    const ours = new Headers(init);
    const theirs = new globalThis.Headers(init);
    expect([...ours]).toEqual([...theirs]);
    expect(ours.get("a")).toBe(theirs.get("a"));
    expect(ours.getSetCookie()).toEqual(theirs.getSetCookie());
    ours.set("A", "only");
    theirs.set("A", "only");
    ours.delete("b");
    theirs.delete("b");
    expect([...ours]).toEqual([...theirs]);
    expect(ours.has("B")).toBe(false);
  });

  it("refuses invalid names and values", () => {
    expect(() => new Headers({ "bad name": "x" })).toThrow(TypeError);
    expect(() => new Headers({ ok: "line\nbreak" })).toThrow(TypeError);
  });
});

describe("Request and Response", () => {
  it("read a body once, as text, JSON, bytes or an ArrayBuffer, with the content type a string or URLSearchParams body implies", async () => {
    const request = new Request("http://example.com/a?b=1", { method: "post", body: new URLSearchParams({ q: "x y" }) });
    expect(request.method).toBe("POST");
    expect(request.headers.get("content-type")).toBe("application/x-www-form-urlencoded;charset=UTF-8");
    expect(await request.clone().text()).toBe("q=x+y");
    expect(await request.text()).toBe("q=x+y");
    expect(request.bodyUsed).toBe(true);
    await expect(request.text()).rejects.toThrow(/already been read/);
    const response = Response.json({ a: [1] }, { status: 201, headers: { "x-y": "z" } });
    expect([response.status, response.ok, response.headers.get("content-type"), response.headers.get("x-y")]).toEqual([201, true, "application/json", "z"]);
    expect(await response.json()).toEqual({ a: [1] });
    expect([...(await new Response(Uint8Array.from([1, 2, 3])).bytes())]).toEqual([1, 2, 3]);
    expect(new Uint8Array(await new Response("é").arrayBuffer())).toEqual(new globalThis.TextEncoder().encode("é"));
    expect(new Response(null).body).toBeNull();
    expect(new Response("x").body).not.toBeNull();
  });

  it("refuse what the standard refuses, and what this engine cannot do, in words", () => {
    expect(() => new Request("http://example.com/", { method: "GET", body: "x" })).toThrow(TypeError);
    expect(() => new Response("x", { status: 204 })).toThrow(TypeError);
    expect(() => new Response("x", { status: 600 })).toThrow(RangeError);
    expect(() => new Response(new Blob(["x"]) as unknown as string)).toThrow(/Blob body is not supported on the quickjs engine/);
    expect(() => new Request("not a url")).toThrow(TypeError);
    expect(Response.redirect("http://example.com/x", 307).headers.get("location")).toBe("http://example.com/x");
  });
});
