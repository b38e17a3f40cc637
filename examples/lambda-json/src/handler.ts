// A plain JSON-in, JSON-out AWS Lambda handler, unchanged from AWS: invoke it
// with the AWS SDK (InvokeCommand), the AWS CLI, or `wfn invoke`.
import type { Context, Handler } from "aws-lambda";

interface Order {
  items: Array<{ sku: string; quantity: number; unitPrice: number }>;
}

interface Total {
  subtotal: number;
  tax: number;
  total: number;
  currency: string;
  requestId: string;
}

// Read at module load, as Lambda handlers usually do.
const TAX_RATE = Number(process.env.TAX_RATE ?? "0");
const CURRENCY = process.env.CURRENCY ?? "USD";

class ValidationError extends Error {
  override name = "ValidationError";
}

export const handler: Handler<Order, Total> = async (event: Order, context: Context) => {
  if (!Array.isArray(event?.items) || event.items.length === 0) {
    throw new ValidationError("an order needs at least one item");
  }
  const subtotal = event.items.reduce((sum, item) => sum + item.quantity * item.unitPrice, 0);
  const tax = Math.round(subtotal * TAX_RATE * 100) / 100;
  console.log(`order of ${event.items.length} item(s), ${context.getRemainingTimeInMillis()} ms left`);
  return { subtotal, tax, total: subtotal + tax, currency: CURRENCY, requestId: context.awsRequestId };
};
