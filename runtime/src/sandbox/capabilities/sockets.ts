// wasi:sockets — functions get no sockets; every operation is refused.

const ACCESS_DENIED = "access-denied";

class Network {}
class TcpSocket {}
class UdpSocket {}
class ResolveAddressStream {}

function deny(): never {
  throw ACCESS_DENIED;
}

export function socketImports() {
  return {
    "wasi:sockets/network": { Network, networkErrorCode: () => undefined },
    "wasi:sockets/instance-network": { instanceNetwork: () => new Network() },
    "wasi:sockets/tcp": { TcpSocket },
    "wasi:sockets/tcp-create-socket": { createTcpSocket: deny },
    "wasi:sockets/udp": { UdpSocket },
    "wasi:sockets/udp-create-socket": { createUdpSocket: deny },
    "wasi:sockets/ip-name-lookup": { ResolveAddressStream, resolveAddresses: deny },
  };
}
