// wasi:filesystem — functions get no filesystem: no preopened directories,
// and every descriptor operation is refused.

const ACCESS = "access";

/** Never handed out (there are no preopens); present because the glue imports it. */
class Descriptor {
  constructor() {
    throw ACCESS;
  }
}

export function filesystemImports() {
  return {
    "wasi:filesystem/preopens": { getDirectories: (): Array<[Descriptor, string]> => [] },
    "wasi:filesystem/types": { Descriptor, filesystemErrorCode: () => undefined },
  };
}
