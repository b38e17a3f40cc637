// AWS Lambda compatibility: the real AWS SDK (v3) against a wfn host on
// loopback, and Lambda-style handlers over HTTP.
import { InvokeCommand, LambdaClient, type InvokeCommandOutput } from "@aws-sdk/client-lambda";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { APP_BUILD, HOSTILE_BUILD, LAMBDA_API_BUILD, LAMBDA_BUILD, LAMBDA_JSON_BUILD } from "./helpers/paths.js";
import { startHost, type TestHost } from "./helpers/host.js";
import { readArtifact } from "@wfn/runtime";

let app: TestHost;
let lambda: LambdaClient;

const json = (output: InvokeCommandOutput) => JSON.parse(Buffer.from(output.Payload ?? new Uint8Array()).toString("utf8")) as Record<string, unknown>;
const REPORT = /^REPORT RequestId: [0-9a-f-]{36}\tDuration: \d+\.\d{2} ms\tBilled Duration: \d+ ms\tMemory Size: \d+ MB\tMax Memory Used: \d+ MB\t(Init Duration: \d+\.\d{2} ms\t)?$/m;

beforeAll(async () => {
  const spin = await readArtifact(join(HOSTILE_BUILD, "spin"));
  const echo = await readArtifact(join(APP_BUILD, "echo"));
  const envB = await readArtifact(join(APP_BUILD, "env-b"));
  app = await startHost({ dir: [LAMBDA_BUILD, LAMBDA_JSON_BUILD, LAMBDA_API_BUILD], functions: [spin, echo, envB], maxRequestBytes: 256 * 1024, maxQueueLength: 0 });
  lambda = new LambdaClient({ endpoint: app.url, region: "us-east-1", credentials: { accessKeyId: "wfn", secretAccessKey: "wfn" }, maxAttempts: 1 });
});

describe("Invoke with the AWS SDK", () => {
  it("invokes synchronously, returning the result, the executed version and the request id the function saw", async () => {
    const output = await lambda.send(
      new InvokeCommand({ FunctionName: "order-total", Payload: JSON.stringify({ items: [{ sku: "a", quantity: 3, unitPrice: 10 }] }) }),
    );
    expect(output.StatusCode).toBe(200);
    expect(output.ExecutedVersion).toBe("$LATEST");
    expect(output.FunctionError).toBeUndefined();
    const result = json(output);
    expect(result).toMatchObject({ subtotal: 30, tax: 6, total: 36, currency: "EUR" });
    expect(result.requestId).toBe(output.$metadata.requestId);
  });

  it("gives the handler Lambda's context, event and process.env", async () => {
    const output = await lambda.send(
      new InvokeCommand({ FunctionName: "introspect", Payload: JSON.stringify({ hello: "lambda" }), ClientContext: Buffer.from(JSON.stringify({ custom: { a: 1 } })).toString("base64") }),
    );
    const { event, context, env, loadedWith } = json(output) as Record<string, Record<string, unknown>>;
    expect(event).toEqual({ hello: "lambda" });
    expect(context).toMatchObject({
      awsRequestId: output.$metadata.requestId,
      functionName: "introspect",
      functionVersion: "$LATEST",
      invokedFunctionArn: "arn:aws:lambda:us-east-1:000000000000:function:introspect",
      memoryLimitInMB: "256",
      logGroupName: "/aws/lambda/introspect",
      clientContext: { custom: { a: 1 } },
      callbackWaitsForEmptyEventLoop: true,
    });
    expect(context!.logStreamName).toMatch(/^\d{4}\/\d{2}\/\d{2}\/\[\$LATEST\][0-9a-f]{32}$/);
    expect(context!.remaining).toBeGreaterThan(2000);
    expect(context!.remaining).toBeLessThanOrEqual(3000);
    expect(env).toMatchObject({
      STAGE: "test",
      AWS_LAMBDA_FUNCTION_NAME: "introspect",
      // The version the instance runs (a number); context.functionVersion says how it was invoked.
      AWS_LAMBDA_FUNCTION_VERSION: "1",
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: "256",
      AWS_REGION: "us-east-1",
    });
    expect(loadedWith).toEqual({ stage: "test", name: "introspect" });
  });

  it("accepts a name with a qualifier, a full ARN and a partial ARN", async () => {
    for (const FunctionName of [
      "introspect:$LATEST",
      "arn:aws:lambda:us-east-1:000000000000:function:introspect",
      "arn:aws:lambda:us-east-1:000000000000:function:introspect:$LATEST",
      "000000000000:function:introspect",
    ]) {
      const output = await lambda.send(new InvokeCommand({ FunctionName, Payload: "{}" }));
      expect(output.StatusCode, FunctionName).toBe(200);
    }
    const qualified = await lambda.send(new InvokeCommand({ FunctionName: "introspect", Qualifier: "$LATEST" }));
    expect(qualified.StatusCode).toBe(200);
    expect(json(qualified).event).toEqual({});
  });

  it("refuses a qualifier that contradicts the one in the name", async () => {
    await expect(lambda.send(new InvokeCommand({ FunctionName: "introspect:$LATEST", Qualifier: "prod" }))).rejects.toMatchObject({
      name: "InvalidParameterValueException",
      $metadata: { httpStatusCode: 400 },
    });
  });

  it("queues an Event invocation (202) and runs it", async () => {
    const output = await lambda.send(new InvokeCommand({ FunctionName: "introspect", InvocationType: "Event", Payload: JSON.stringify({ async: true }) }));
    expect(output.StatusCode).toBe(202);
    expect(output.ExecutedVersion).toBeUndefined();
    expect(Buffer.from(output.Payload ?? new Uint8Array()).byteLength).toBe(0);
    const requestId = output.$metadata.requestId;
    await expect.poll(() => app.logs.some((r) => r.requestId === requestId && r.message.startsWith("REPORT RequestId:")), { timeout: 5000 }).toBe(true);
  });

  it("answers a DryRun with 204", async () => {
    const output = await lambda.send(new InvokeCommand({ FunctionName: "order-total", InvocationType: "DryRun" }));
    expect(output.StatusCode).toBe(204);
  });

  it("returns the tail of the invocation's log in Lambda's format", async () => {
    const output = await lambda.send(new InvokeCommand({ FunctionName: "introspect", LogType: "Tail", Payload: "{}" }));
    const log = Buffer.from(output.LogResult!, "base64").toString("utf8");
    const id = output.$metadata.requestId!;
    expect(Buffer.byteLength(log)).toBeLessThanOrEqual(4096);
    expect(log).toContain(`START RequestId: ${id} Version: $LATEST\n`);
    expect(log).toMatch(new RegExp(`^\\d{4}-\\d{2}-\\d{2}T[\\d:.]+Z\\t${id}\\tINFO\\tintrospecting ${id}$`, "m"));
    expect(log).toContain(`END RequestId: ${id}\n`);
    expect(log).toMatch(REPORT);
  });

  it("reports a thrown error as FunctionError Unhandled with errorType, errorMessage and trace", async () => {
    const output = await lambda.send(new InvokeCommand({ FunctionName: "order-total", Payload: JSON.stringify({ items: [] }), LogType: "Tail" }));
    expect(output.StatusCode).toBe(200);
    expect(output.FunctionError).toBe("Unhandled");
    const error = json(output);
    // The frames name the function's own source (its bundle's source map, carried in the component), in the trace and in the log.
    expect((error.trace as string[]).some((line) => /src\/handler\.ts:27:\d+/.test(line))).toBe(true);
    expect((error.trace as string[]).join("\n")).not.toContain("function.js");
    expect(Buffer.from(output.LogResult!, "base64").toString("utf8")).toMatch(/Invoke Error ValidationError: an order needs at least one item[\s\S]*src\/handler\.ts:27:\d+/);
    expect(error.errorType).toBe("ValidationError");
    expect(error.errorMessage).toBe("an order needs at least one item");
    expect(Array.isArray(error.trace)).toBe(true);
    // As Node's runtime writes it: "Type: message", then the frames.
    expect((error.trace as string[])[0]).toBe("ValidationError: an order needs at least one item");
    expect((error.trace as string[]).length).toBeGreaterThan(1);
    expect((error.trace as string[]).every((line) => line.length > 0)).toBe(true);
  });

  it("reports a timeout as Sandbox.Timedout", async () => {
    const output = await lambda.send(new InvokeCommand({ FunctionName: "spin", Payload: "{}" }));
    expect(output.FunctionError).toBe("Unhandled");
    expect(json(output)).toMatchObject({ errorType: "Sandbox.Timedout", errorMessage: expect.stringMatching(/Task timed out after \d+\.\d{2} seconds$/) });
  });

  it("throws ResourceNotFoundException for an unknown function", async () => {
    await expect(lambda.send(new InvokeCommand({ FunctionName: "no-such-function" }))).rejects.toMatchObject({
      name: "ResourceNotFoundException",
      $metadata: { httpStatusCode: 404 },
      message: expect.stringMatching(/^Function not found: arn:aws:lambda:us-east-1:000000000000:function:no-such-function/),
    });
  });

  it("throws TooManyRequestsException with a Reason when the function is at its concurrency", async () => {
    const busy = lambda.send(new InvokeCommand({ FunctionName: "sleepy-lambda", Payload: JSON.stringify({ ms: 400 }) }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    await expect(lambda.send(new InvokeCommand({ FunctionName: "sleepy-lambda", Payload: "{}" }))).rejects.toMatchObject({
      name: "TooManyRequestsException",
      Reason: "ReservedFunctionConcurrentInvocationLimitExceeded",
      $metadata: { httpStatusCode: 429 },
    });
    expect((await busy).StatusCode).toBe(200);
  });

  it("throws InvalidRequestContentException for a payload that is not JSON", async () => {
    await expect(lambda.send(new InvokeCommand({ FunctionName: "introspect", Payload: Buffer.from("{not json") }))).rejects.toMatchObject({
      name: "InvalidRequestContentException",
      $metadata: { httpStatusCode: 400 },
    });
  });

  it("answers 413 for a payload over the limit", async () => {
    const big = JSON.stringify({ data: "x".repeat(300 * 1024) });
    const error = await lambda.send(new InvokeCommand({ FunctionName: "introspect", Payload: big })).catch((e: unknown) => e);
    expect(error).toMatchObject({ $metadata: { httpStatusCode: 413 } });
    expect(["RequestEntityTooLargeException", "RequestTooLargeException"]).toContain((error as Error).name);
  });

  it("runs a callback-style handler", async () => {
    const output = await lambda.send(new InvokeCommand({ FunctionName: "callback", Payload: JSON.stringify({ n: 21 }) }));
    expect(json(output)).toEqual({ doubled: 42, via: "callback" });
  });

  it("invokes web-style functions too: invoke() when defined, otherwise fetch() as API Gateway would", async () => {
    const direct = json(await lambda.send(new InvokeCommand({ FunctionName: "echo", Payload: JSON.stringify({ a: 1 }) })));
    expect(direct).toMatchObject({ received: { a: 1 }, functionName: "echo" });
    const viaFetch = json(await lambda.send(new InvokeCommand({ FunctionName: "env-b", Payload: "{}" })));
    expect(viaFetch).toMatchObject({ statusCode: 200, headers: { "content-type": "application/json" }, isBase64Encoded: false });
    expect(JSON.parse(viaFetch.body as string)).toEqual({ env: { NAME: "b" }, processEnv: null });
  });
});

describe("Lambda-style handlers over HTTP (API Gateway HTTP API 2.0)", () => {
  it("builds the v2 event: raw path and query, comma-joined duplicates, cookies, route key, source IP", async () => {
    const response = await app.get("/lambda/hello?x=1&x=2&y=3", { headers: { cookie: "a=1; b=2", "x-dup": "one" } });
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      routeKey: "ANY /lambda/{proxy+}",
      path: "/lambda/hello",
      query: { x: "1,2", y: "3" },
      cookies: ["a=1", "b=2"],
      sourceIp: "127.0.0.1",
      function: "lambda-api",
      memory: "128",
      region: "us-east-1",
    });
    expect(body.requestId).toBe(response.headers.get("x-wfn-request-id"));
  });

  it("turns the result's cookies into separate set-cookie headers", async () => {
    const response = await app.get("/lambda/hello");
    expect(response.headers.getSetCookie()).toEqual(["session=abc123; Path=/; HttpOnly", "theme=dark; Path=/"]);
    expect(response.headers.get("x-app")).toBe("lambda-api");
  });

  it("decodes a base64 body (a binary image)", async () => {
    const response = await app.get("/lambda/pixel.png");
    expect(response.headers.get("content-type")).toBe("image/png");
    const bytes = new Uint8Array(await response.arrayBuffer());
    expect([...bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  });

  it("passes path parameters from the route, and answers a plain object as 200 JSON", async () => {
    const found = await app.get("/lambda/users/2");
    expect(found.status).toBe(200);
    expect(found.headers.get("content-type")).toBe("application/json");
    expect(await found.json()).toEqual({ id: "2", name: "Grace" });
    const missing = await app.get("/lambda/users/9");
    expect(missing.status).toBe(404);
  });

  it("passes a JSON body and pathParameters for multi-parameter routes", async () => {
    const post = await app.get("/lambda/things", { method: "POST", body: JSON.stringify({ q: 1 }), headers: { "content-type": "application/json" } });
    expect(post.status).toBe(201);
    expect(await post.json()).toEqual({ received: { q: 1 } });
    const parts = (await (await app.get("/items/7/parts/wheel")).json()) as { event: { pathParameters: unknown; routeKey: string } };
    expect(parts.event.pathParameters).toEqual({ id: "7", part: "wheel" });
    expect(parts.event.routeKey).toBe("GET /items/{id}/parts/{part}");
  });

  it("base64-encodes a binary request body for the handler", async () => {
    const bytes = Uint8Array.from([0xff, 0x00, 0xfe, 0x01]);
    const body = (await (await app.get("/introspect/upload", { method: "POST", body: bytes, headers: { "content-type": "application/octet-stream" } })).json()) as {
      event: { body: string; isBase64Encoded: boolean };
    };
    expect(body.event.isBase64Encoded).toBe(true);
    expect([...Buffer.from(body.event.body, "base64")]).toEqual([...bytes]);
  });

  it("round-trips binary bodies through base64 both ways: every byte value, every length modulo 3, 200 KB (this host takes at most 256 KiB)", async () => {
    const every = Uint8Array.from({ length: 256 }, (_, i) => i);
    const large = Uint8Array.from({ length: 200_000 }, (_, i) => (i * 7919 + (i >> 8)) & 0xff);
    for (const bytes of [every.subarray(0, 1), every.subarray(0, 2), every.subarray(0, 3), every, large]) {
      const response = await app.get("/introspect/echo-binary", { method: "POST", body: bytes, headers: { "content-type": "application/octet-stream" } });
      expect(response.status).toBe(200);
      expect(Buffer.from(await response.arrayBuffer()).equals(Buffer.from(bytes))).toBe(true);
    }
  });
});
