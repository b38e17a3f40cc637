// Node's `crypto` module for function bundles: the synchronous hashing,
// HMAC, key derivation and randomness npm packages call (jsonwebtoken,
// cookie signers, ETag and cache-key code...), computed by @noble/hashes
// (audited, pure JavaScript) and the engine's Web Crypto random source.
// Ciphers, signatures and asymmetric keys are not supplied: they throw
// ERR_FEATURE_UNAVAILABLE_ON_PLATFORM and name crypto.subtle, which has them.
import { Buffer } from "buffer/";
import { hmac } from "@noble/hashes/hmac.js";
import { md5, ripemd160, sha1 } from "@noble/hashes/legacy.js";
import { pbkdf2 as nobleP } from "@noble/hashes/pbkdf2.js";
import { scrypt as nobleS } from "@noble/hashes/scrypt.js";
import { sha224, sha256, sha384, sha512, sha512_224, sha512_256 } from "@noble/hashes/sha2.js";
import { sha3_224, sha3_256, sha3_384, sha3_512 } from "@noble/hashes/sha3.js";

const HASHES = {
  md5,
  sha1,
  sha224,
  sha256,
  sha384,
  sha512,
  "sha512-224": sha512_224,
  "sha512-256": sha512_256,
  "sha3-224": sha3_224,
  "sha3-256": sha3_256,
  "sha3-384": sha3_384,
  "sha3-512": sha3_512,
  ripemd160,
  rmd160: ripemd160,
};

function codedError(Type, code, message) {
  const error = new Type(message);
  error.code = code;
  return error;
}

function hashOf(algorithm) {
  const name = String(algorithm).toLowerCase().replace(/^rsa-/, "").replace(/^sha-(\d+)$/, "sha$1").replace(/^sha(\d+)\/(\d+)$/, "sha$1-$2");
  const hash = HASHES[name];
  if (hash === undefined) throw codedError(Error, "ERR_CRYPTO_INVALID_DIGEST", `Digest method not supported in wfn functions: ${algorithm} (supported: ${getHashes().join(", ")})`);
  return hash;
}

function bytes(data, encoding, what = "data") {
  if (typeof data === "string") return Buffer.from(data, encoding ?? "utf8");
  if (data instanceof KeyObject) return data.export();
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  throw codedError(TypeError, "ERR_INVALID_ARG_TYPE", `The "${what}" argument must be of type string or an instance of Buffer, TypedArray or DataView`);
}

function output(digest, encoding) {
  const buffer = Buffer.from(digest.buffer, digest.byteOffset, digest.byteLength);
  return encoding === undefined || encoding === "buffer" ? buffer : buffer.toString(encoding);
}

class Digest {
  #state;
  #done = false;
  constructor(state) {
    this.#state = state;
  }
  update(data, encoding) {
    if (this.#done) throw codedError(Error, "ERR_CRYPTO_HASH_FINALIZED", "Digest already called");
    this.#state.update(bytes(data, encoding));
    return this;
  }
  digest(encoding) {
    if (this.#done) throw codedError(Error, "ERR_CRYPTO_HASH_FINALIZED", "Digest already called");
    this.#done = true;
    return output(this.#state.digest(), encoding);
  }
  /** @protected */
  _copyState() {
    if (this.#done) throw codedError(Error, "ERR_CRYPTO_HASH_FINALIZED", "Digest already called");
    return this.#state.clone();
  }
}

/** `createHash(algorithm)` of Node.js: `update(data[, encoding])`, `digest([encoding])`, `copy()`. */
export class Hash extends Digest {
  copy() {
    return new Hash(this._copyState());
  }
}

/** `createHmac(algorithm, key)` of Node.js. */
export class Hmac extends Digest {}

/** A secret key, as `createSecretKey` of Node.js makes (asymmetric keys are not supplied). */
export class KeyObject {
  #key;
  constructor(type, key) {
    if (type !== "secret") throw codedError(TypeError, "ERR_INVALID_ARG_VALUE", `KeyObject type ${type} is not available in wfn functions`);
    this.#key = Buffer.from(key);
  }
  get type() {
    return "secret";
  }
  get symmetricKeySize() {
    return this.#key.length;
  }
  export(options) {
    if (options?.format === "jwk") return { kty: "oct", k: this.#key.toString("base64url") };
    return Buffer.from(this.#key);
  }
  equals(other) {
    return other instanceof KeyObject && other.symmetricKeySize === this.#key.length && timingSafeEqual(this.#key, other.export());
  }
}

export function createHash(algorithm) {
  return new Hash(hashOf(algorithm).create());
}

export function createHmac(algorithm, key, _options) {
  return new Hmac(hmac.create(hashOf(algorithm), bytes(key, undefined, "key")));
}

/** `crypto.hash(algorithm, data[, outputEncoding])` of Node.js 21.7+: hex by default. */
export function hash(algorithm, data, outputEncoding = "hex") {
  return output(hashOf(algorithm)(bytes(data)), outputEncoding);
}

export function createSecretKey(key, encoding) {
  return new KeyObject("secret", bytes(key, encoding, "key"));
}

export function getHashes() {
  return Object.keys(HASHES);
}

export function timingSafeEqual(a, b) {
  const left = bytes(a, undefined, "buf1");
  const right = bytes(b, undefined, "buf2");
  if (left.byteLength !== right.byteLength) throw codedError(RangeError, "ERR_CRYPTO_TIMING_SAFE_EQUAL_LENGTH", "Input buffers must have the same byte length");
  let difference = 0;
  for (let i = 0; i < left.byteLength; i++) difference |= left[i] ^ right[i];
  return difference === 0;
}

export function getRandomValues(array) {
  return globalThis.crypto.getRandomValues(array);
}

export function randomUUID() {
  return globalThis.crypto.randomUUID();
}

function fillRandom(view) {
  // getRandomValues fills at most 65,536 bytes per call.
  for (let offset = 0; offset < view.byteLength; offset += 65536) {
    globalThis.crypto.getRandomValues(new Uint8Array(view.buffer, view.byteOffset + offset, Math.min(65536, view.byteLength - offset)));
  }
  return view;
}

/** Settles through `callback` after the current task when one is given, as Node.js does. */
function settle(callback, compute) {
  if (typeof callback !== "function") return compute();
  queueMicrotask(() => {
    let result;
    try {
      result = compute();
    } catch (error) {
      return callback(error);
    }
    callback(null, result);
  });
  return undefined;
}

export function randomBytes(size, callback) {
  if (!Number.isSafeInteger(size) || size < 0 || size > 2 ** 31 - 1) throw codedError(RangeError, "ERR_OUT_OF_RANGE", `The value of "size" is out of range. It must be >= 0 && <= ${2 ** 31 - 1}. Received ${size}`);
  return settle(callback, () => fillRandom(Buffer.alloc(size)));
}

export function randomFillSync(buffer, offset = 0, size) {
  const view = new Uint8Array(buffer.buffer ?? buffer, (buffer.byteOffset ?? 0) + offset, size ?? (buffer.byteLength - offset));
  fillRandom(view);
  return buffer;
}

export function randomFill(buffer, offset, size, callback) {
  const done = [offset, size, callback].find((arg) => typeof arg === "function");
  const start = typeof offset === "number" ? offset : 0;
  const length = typeof size === "number" ? size : undefined;
  settle(done, () => randomFillSync(buffer, start, length));
}

/** An integer in [min, max), uniformly (rejection sampling, no modulo bias). */
export function randomInt(min, max, callback) {
  if (typeof max !== "number") {
    callback = max;
    max = min;
    min = 0;
  }
  if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || max <= min || max - min > 2 ** 48) {
    throw codedError(RangeError, "ERR_OUT_OF_RANGE", `The value of "max" is out of range. It must be greater than "min" (${min}) and at most 2^48 above it. Received ${max}`);
  }
  return settle(callback, () => {
    const range = max - min;
    const limit = 2 ** 48 - (2 ** 48 % range);
    for (;;) {
      const six = fillRandom(new Uint8Array(6));
      const value = six.reduce((acc, byte) => acc * 256 + byte, 0);
      if (value < limit) return min + (value % range);
    }
  });
}

export function pbkdf2Sync(password, salt, iterations, keylen, digest) {
  return output(nobleP(hashOf(digest), bytes(password, undefined, "password"), bytes(salt, undefined, "salt"), { c: iterations, dkLen: keylen }));
}

export function pbkdf2(password, salt, iterations, keylen, digest, callback) {
  if (typeof callback !== "function") throw codedError(TypeError, "ERR_INVALID_ARG_TYPE", 'The "callback" argument must be of type function');
  settle(callback, () => pbkdf2Sync(password, salt, iterations, keylen, digest));
}

export function scryptSync(password, salt, keylen, options = {}) {
  const N = options.N ?? options.cost ?? 16384;
  const r = options.r ?? options.blockSize ?? 8;
  const p = options.p ?? options.parallelization ?? 1;
  return output(nobleS(bytes(password, undefined, "password"), bytes(salt, undefined, "salt"), { N, r, p, dkLen: keylen, maxmem: options.maxmem ?? 32 * 1024 * 1024 }));
}

export function scrypt(password, salt, keylen, options, callback) {
  if (typeof options === "function") {
    callback = options;
    options = {};
  }
  settle(callback, () => scryptSync(password, salt, keylen, options));
}

function unavailable(name) {
  return () => {
    throw codedError(Error, "ERR_FEATURE_UNAVAILABLE_ON_PLATFORM", `crypto.${name}() is not available in wfn functions; crypto.subtle (Web Crypto) has ciphers, signatures and key pairs`);
  };
}

export const createCipheriv = unavailable("createCipheriv");
export const createDecipheriv = unavailable("createDecipheriv");
export const createSign = unavailable("createSign");
export const createVerify = unavailable("createVerify");
export const createPrivateKey = unavailable("createPrivateKey");
export const createPublicKey = unavailable("createPublicKey");
export const generateKeyPair = unavailable("generateKeyPair");
export const generateKeyPairSync = unavailable("generateKeyPairSync");
export const publicEncrypt = unavailable("publicEncrypt");
export const privateDecrypt = unavailable("privateDecrypt");
export const createECDH = unavailable("createECDH");
export const createDiffieHellman = unavailable("createDiffieHellman");
export const sign = unavailable("sign");
export const verify = unavailable("verify");

export const webcrypto = globalThis.crypto;
export const subtle = globalThis.crypto?.subtle;
export const constants = {};

export default {
  Hash,
  Hmac,
  KeyObject,
  createHash,
  createHmac,
  hash,
  createSecretKey,
  getHashes,
  timingSafeEqual,
  getRandomValues,
  randomUUID,
  randomBytes,
  randomFillSync,
  randomFill,
  randomInt,
  pbkdf2Sync,
  pbkdf2,
  scryptSync,
  scrypt,
  createCipheriv,
  createDecipheriv,
  createSign,
  createVerify,
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  generateKeyPairSync,
  publicEncrypt,
  privateDecrypt,
  createECDH,
  createDiffieHellman,
  sign,
  verify,
  webcrypto,
  subtle,
  constants,
};
