// wasi:random — cryptographically secure bytes from the host.
import { randomFillSync } from "node:crypto";

const u64 = new BigUint64Array(1);

export function randomImports() {
  const getRandomBytes = (len: bigint) => randomFillSync(new Uint8Array(Number(len)));
  const getRandomU64 = () => {
    randomFillSync(u64);
    return u64[0]!;
  };
  return {
    "wasi:random/random": { getRandomBytes, getRandomU64 },
    "wasi:random/insecure": { getInsecureRandomBytes: getRandomBytes, getInsecureRandomU64: getRandomU64 },
    "wasi:random/insecure-seed": { insecureSeed: (): [bigint, bigint] => [getRandomU64(), getRandomU64()] },
  };
}
