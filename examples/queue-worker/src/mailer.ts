// Consumes the `emails` queue in batches, AWS Lambda style (an SQS event in,
// `batchItemFailures` out). Each message it cannot deliver is reported on its
// own, so only that one comes back; after 3 deliveries it moves to
// `emails-dlq`, where `wfn dead-letters emails` shows it.
//
// This example does not talk to a mail server: it logs what it would send,
// and treats addresses at example.invalid as undeliverable.
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";

const from = process.env.FROM ?? "noreply@example.com";

export const handler = async (event: SQSEvent): Promise<SQSBatchResponse> => {
  const batchItemFailures: SQSBatchResponse["batchItemFailures"] = [];
  for (const record of event.Records) {
    try {
      const { to, template } = JSON.parse(record.body) as { to: string; template: string };
      if (to.endsWith("@example.invalid")) throw new Error(`cannot deliver to ${to}`);
      console.log(`sent "${template}" from ${from} to ${to} (message ${record.messageId}, delivery ${record.attributes.ApproximateReceiveCount})`);
    } catch (error) {
      console.error(`message ${record.messageId}: ${(error as Error).message}`);
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
};
