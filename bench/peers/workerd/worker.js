// The workerd peer's worker: the same response as every other peer.
export default {
  fetch() {
    return Response.json({ hello: "world" });
  },
};
