// The benchmark's hello function: the same response every peer gives to GET /.
import { defineFunction } from "@wfn/sdk";

export default defineFunction({
  fetch() {
    return Response.json({ hello: "world" });
  },
});
