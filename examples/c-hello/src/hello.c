// A wfn function in C: `wfn build` compiles it with clang for wasm32-wasi
// into a wasi:http/proxy component (see docs/languages.md).
#include <stdio.h>
#include <string.h>

#include "wfn_http.h"

void wfn_handle(wfn_request *request, wfn_response *response) {
  const char *method = wfn_request_method(request);
  const char *path = wfn_request_path(request);
  printf("%s %s\n", method, path); // stdout goes to the invocation's log

  if (strcmp(method, "POST") == 0) {
    // Echo the body back, with its length.
    int truncated = 0;
    wfn_bytes body = wfn_request_body(request, 64 * 1024, &truncated);
    const char *type = wfn_request_header(request, "content-type");
    wfn_response_header(response, "content-type", type != NULL ? type : "application/octet-stream");
    char length[32];
    snprintf(length, sizeof length, truncated ? "more than %zu" : "%zu", body.len);
    wfn_response_header(response, "x-body-bytes", length);
    wfn_response_write(response, body.data, body.len);
    return;
  }
  wfn_response_header(response, "content-type", "text/plain; charset=utf-8");
  wfn_response_printf(response, "hello from C: %s %s\n", method, path);
}
