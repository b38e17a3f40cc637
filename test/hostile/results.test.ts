// Results a function returns that the host does not pass on as they are:
// headers that would break the response limit, a promise that never
// settles, a module it tries to load while it runs.
import { describe, expect, it } from "vitest";
import { startHost } from "../helpers/host.js";
import { HOSTILE_BUILD } from "../helpers/paths.js";

const app = await startHost({ dir: HOSTILE_BUILD });

describe("a function's response headers", () => {
  it("count toward the 6 MiB response limit", async () => {
    expect((await app.get("/big?headerKb=8")).status).toBe(200);
    const response = await app.get("/big?headerKb=7000");
    expect(response.status).toBe(502);
    expect(response.headers.get("x-huge")).toBeNull();
    expect(await response.json()).toMatchObject({
      errorType: "Function.ResponseSizeTooLarge",
      errorMessage: expect.stringMatching(/^Response payload size exceeded maximum allowed payload size \(6291456 bytes\): the function returned \d+ bytes$/),
    });
  });
});

describe("a handler whose promise never settles", () => {
  it("is reported as such, not as a bare unreachable", async () => {
    const response = await app.get("/big?never=1");
    expect(response.status).toBe(502);
    const body = (await response.json()) as { errorType: string; errorMessage: string };
    expect(body.errorType).toBe("Runtime.ExitError");
    expect(body.errorMessage).toContain("the handler returned a promise that never settled");
    expect((await app.get("/big?mb=1")).status).toBe(200);
  });
});

describe("an import() of a module named at run time", () => {
  it("throws an error the function could catch, saying to import it statically", async () => {
    const response = await app.get("/big?import=./helper.js");
    expect(response.status).toBe(500);
    const body = (await response.json()) as { errorType: string; errorMessage: string };
    expect(body.errorType).toBe("Error");
    expect(body.errorMessage).toBe(
      'Dynamic require of "./helper.js" is not supported: a wfn function cannot load a module while it runs (an import() or require() whose name is computed); import it with a static import, so that `wfn build` bundles it',
    );
    // The instance is not harmed.
    expect((await app.get("/big?mb=1")).status).toBe(200);
  });
});
