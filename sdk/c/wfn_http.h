/*
 * wfn_http.h: write a wfn function in C.
 *
 * The function is a standard wasi:http/proxy component (wasi:http@0.2.12):
 * define wfn_handle(), and `wfn build` compiles it with clang for
 * wasm32-wasi together with wfn_http.c, which implements the canonical ABI of
 * wasi:http's incoming handler on top of these few calls. stdout and stderr
 * (printf, fprintf) go to the invocation's log.
 *
 *   #include "wfn_http.h"
 *
 *   void wfn_handle(wfn_request *request, wfn_response *response) {
 *     wfn_response_header(response, "content-type", "text/plain");
 *     wfn_response_printf(response, "hello from C: %s %s\n",
 *                         wfn_request_method(request), wfn_request_path(request));
 *   }
 *
 * Strings the library returns are NUL-terminated and live until wfn_handle
 * returns; the library frees them.
 */
#ifndef WFN_HTTP_H
#define WFN_HTTP_H

#include <stddef.h>
#include <stdint.h>

typedef struct wfn_request wfn_request;
typedef struct wfn_response wfn_response;

/** Bytes the library owns: valid until wfn_handle returns. */
typedef struct {
  const uint8_t *data;
  size_t len;
} wfn_bytes;

/** Your function: answer `request` by filling `response` (status 200 and no body unless you say otherwise). */
void wfn_handle(wfn_request *request, wfn_response *response);

/** "GET", "POST", ... */
const char *wfn_request_method(wfn_request *request);

/** The path and query, e.g. "/c/hello?name=x" ("/" when the request has none). */
const char *wfn_request_path(wfn_request *request);

/** The first value of the header `name` (lower case), or NULL when the request has none. */
const char *wfn_request_header(wfn_request *request, const char *name);

/**
 * The request body (followed by a NUL), read whole on first call. A body longer than `max_bytes`
 * is cut there and `*truncated` (when not NULL) is set to 1. The host has
 * already refused bodies past its own limit.
 */
wfn_bytes wfn_request_body(wfn_request *request, size_t max_bytes, int *truncated);

/** Sets the status code (100-599; for any other, 500 is sent). */
void wfn_response_status(wfn_response *response, int status);

/** Adds a header; returns 0, or -1 when wasi:http refuses the name or value. */
int wfn_response_header(wfn_response *response, const char *name, const char *value);

/** Appends to the body; returns 0, or -1 when out of memory. */
int wfn_response_write(wfn_response *response, const void *data, size_t len);

/** Appends formatted text to the body; returns the bytes written, or -1. */
int wfn_response_printf(wfn_response *response, const char *format, ...) __attribute__((format(printf, 2, 3)));

#endif
