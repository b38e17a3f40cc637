# workerd configuration of the I/O-bound peer: a worker that waits on an
# upstream (?upstream=<url>) and answers with its body. Its outbound network
# allows loopback, where the benchmark's upstream listens. The benchmark
# overrides the socket's address with --socket-addr http=127.0.0.1:<port>.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .io),
    (name = "loopback", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:0", http = (), service = "main")],
);

const io :Workerd.Worker = (
  modules = [(name = "io-worker.js", esModule = embed "io-worker.js")],
  compatibilityDate = "2025-01-01",
  globalOutbound = "loopback",
);
