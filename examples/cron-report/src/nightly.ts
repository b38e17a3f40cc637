// A nightly job written as an AWS Lambda handler for an EventBridge
// schedule: it runs at 02:30 Paris time, and with `catchUp` a night missed
// while the host was down is run once when it comes back.
import type { ScheduledEvent } from "aws-lambda";

export const handler = async (event: ScheduledEvent): Promise<void> => {
  console.log(`nightly clean-up for the night of ${event.time} (rule ${event.resources[0]})`);
};
