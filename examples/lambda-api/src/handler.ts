// An API Gateway (HTTP API, payload 2.0) handler written exactly as for AWS
// Lambda: it reads the event's path, query, cookies and path parameters, and
// answers with cookies, a JSON body, or a base64-encoded image.
import type { APIGatewayProxyEventV2, APIGatewayProxyHandlerV2, APIGatewayProxyResultV2 } from "aws-lambda";

// A 1×1 transparent PNG.
const PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

interface User {
  id: string;
  name: string;
}

const users: Record<string, User> = { "1": { id: "1", name: "Ada" }, "2": { id: "2", name: "Grace" } };

// Returning a plain object (a User) makes API Gateway answer 200 with it as JSON.
export const handler: APIGatewayProxyHandlerV2<User> = async (event: APIGatewayProxyEventV2, context): Promise<APIGatewayProxyResultV2<User>> => {
  if (event.rawPath === "/lambda/pixel.png") {
    return { statusCode: 200, headers: { "content-type": "image/png", "cache-control": "max-age=60" }, body: PIXEL, isBase64Encoded: true };
  }
  if (event.routeKey === "GET /lambda/users/{id}") {
    const user = users[event.pathParameters?.id ?? ""];
    return user ? user : { statusCode: 404, body: JSON.stringify({ message: `no user ${event.pathParameters?.id}` }) };
  }
  if (event.requestContext.http.method === "POST") {
    const body = event.body === undefined ? "" : event.isBase64Encoded ? Buffer.from(event.body, "base64").toString() : event.body;
    return { statusCode: 201, headers: { "content-type": "application/json" }, body: JSON.stringify({ received: JSON.parse(body || "null") }) };
  }
  console.log("request", event.requestContext.http.method, event.rawPath);
  return {
    statusCode: 200,
    headers: { "content-type": "application/json", "x-app": process.env.APP_NAME ?? "" },
    cookies: ["session=abc123; Path=/; HttpOnly", "theme=dark; Path=/"],
    body: JSON.stringify({
      routeKey: event.routeKey,
      path: event.rawPath,
      query: event.queryStringParameters ?? {},
      cookies: event.cookies ?? [],
      sourceIp: event.requestContext.http.sourceIp,
      requestId: context.awsRequestId,
      function: context.functionName,
      memory: context.memoryLimitInMB,
      region: process.env.AWS_REGION,
    }),
  };
};
