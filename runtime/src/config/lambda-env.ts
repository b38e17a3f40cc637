// The environment a Lambda-style function sees: its configured variables
// plus the variables AWS Lambda reserves, which handlers read their
// configuration from. Reserved names win over configured ones, as on Lambda.

/** Region and account used in ARN-style names when the host is not told otherwise. */
export const DEFAULT_REGION = "us-east-1";
export const ACCOUNT_ID = "000000000000";

/** The environment of a Lambda-style function. */
export function lambdaEnvironment(
  name: string,
  config: { env: Record<string, string>; memoryMB: number },
  options: { version?: string; region?: string } = {},
): Record<string, string> {
  const region = options.region ?? DEFAULT_REGION;
  return {
    ...config.env,
    AWS_LAMBDA_FUNCTION_NAME: name,
    AWS_LAMBDA_FUNCTION_VERSION: options.version ?? "$LATEST",
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(config.memoryMB),
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${name}`,
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
  };
}
