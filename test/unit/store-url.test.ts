// Which store a host opens, and how its URL is shown.
import { describe, expect, it } from "vitest";
import { openStore, redactStoreUrl } from "../../runtime/src/store/open.js";

describe("a store URL", () => {
  it("is shown without its password, in the URL or its parameters", () => {
    expect(redactStoreUrl("postgres://wfn:s3cret@db.internal:5432/wfn")).toBe("postgres://wfn:***@db.internal:5432/wfn");
    expect(redactStoreUrl("postgres://wfn@db.internal/wfn")).toBe("postgres://wfn@db.internal/wfn");
    expect(redactStoreUrl("postgres://wfn@db.internal/wfn?password=s3cret&sslmode=require")).toBe("postgres://wfn@db.internal/wfn");
    expect(redactStoreUrl("not a url at all")).toBe("(not a URL)");
  });

  it("must be a PostgreSQL one, and says so without echoing a password", async () => {
    await expect(openStore("mysql://root:s3cret@db/x", undefined)).rejects.toMatchObject({
      code: "WFN_INVALID_CONFIG",
      message: expect.stringMatching(/^the store must be a PostgreSQL URL .*got mysql:\/\/root:\*\*\*@db\/x/),
    });
    await expect(openStore("nonsense", undefined)).rejects.toMatchObject({ code: "WFN_INVALID_CONFIG" });
  });

  it("left out opens the embedded store", async () => {
    const store = await openStore(undefined, undefined);
    expect(await store.loadRegistry()).toMatchObject({ functions: [] });
    await store.close();
  });
});
