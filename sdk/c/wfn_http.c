/*
 * wfn_http.c: the canonical ABI of wasi:http@0.2.12's incoming handler, by
 * hand, for wfn_http.h. `wfn build` compiles it beside a C entry. Each import
 * below is one function of the WIT in wasi:http/types and wasi:io/streams;
 * results the host returns through memory are read at the offsets the
 * canonical ABI lays them out at (a one-byte case, then the payload aligned).
 */
#include "wfn_http.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HTTP_IMPORT(name) __attribute__((import_module("wasi:http/types@0.2.12"), import_name(name)))
#define IO_IMPORT(module, name) __attribute__((import_module(module), import_name(name)))

HTTP_IMPORT("[method]incoming-request.method") extern void request_method(int32_t self, void *ret);
HTTP_IMPORT("[method]incoming-request.path-with-query") extern void request_path(int32_t self, void *ret);
HTTP_IMPORT("[method]incoming-request.headers") extern int32_t request_headers(int32_t self);
HTTP_IMPORT("[method]incoming-request.consume") extern void request_consume(int32_t self, void *ret);
HTTP_IMPORT("[resource-drop]incoming-request") extern void drop_request(int32_t self);
HTTP_IMPORT("[method]incoming-body.stream") extern void body_stream(int32_t self, void *ret);
HTTP_IMPORT("[resource-drop]incoming-body") extern void drop_incoming_body(int32_t self);
HTTP_IMPORT("[constructor]fields") extern int32_t fields_new(void);
HTTP_IMPORT("[method]fields.get") extern void fields_get(int32_t self, const char *name, size_t name_len, void *ret);
HTTP_IMPORT("[method]fields.append") extern void fields_append(int32_t self, const char *name, size_t name_len, const char *value, size_t value_len, void *ret);
HTTP_IMPORT("[resource-drop]fields") extern void drop_fields(int32_t self);
HTTP_IMPORT("[constructor]outgoing-response") extern int32_t response_new(int32_t headers);
HTTP_IMPORT("[method]outgoing-response.set-status-code") extern int32_t response_set_status(int32_t self, int32_t status);
HTTP_IMPORT("[method]outgoing-response.body") extern void response_body(int32_t self, void *ret);
HTTP_IMPORT("[method]outgoing-body.write") extern void body_write(int32_t self, void *ret);
HTTP_IMPORT("[static]outgoing-body.finish") extern void body_finish(int32_t body, int32_t has_trailers, int32_t trailers, void *ret);
HTTP_IMPORT("[static]response-outparam.set")
extern void outparam_set(int32_t param, int32_t is_err, int32_t response, int32_t a, int64_t b, int32_t c, int32_t d, int32_t e, int32_t f);
IO_IMPORT("wasi:io/streams@0.2.12", "[method]input-stream.blocking-read") extern void stream_read(int32_t self, int64_t len, void *ret);
IO_IMPORT("wasi:io/streams@0.2.12", "[resource-drop]input-stream") extern void drop_input_stream(int32_t self);
IO_IMPORT("wasi:io/streams@0.2.12", "[method]output-stream.blocking-write-and-flush") extern void stream_write(int32_t self, const void *data, size_t len, void *ret);
IO_IMPORT("wasi:io/streams@0.2.12", "[resource-drop]output-stream") extern void drop_output_stream(int32_t self);
IO_IMPORT("wasi:io/error@0.2.12", "[resource-drop]error") extern void drop_io_error(int32_t self);

/* blocking-write-and-flush takes at most 4096 bytes per call (wasi:io). */
#define WRITE_CHUNK 4096

/* Where the host writes results: large enough for any result here (error-code included), 8-aligned. */
typedef union {
  uint8_t bytes[64];
  uint64_t align;
} ret_area;

static uint8_t ret_u8(const ret_area *ret, size_t offset) { return ret->bytes[offset]; }
static uint32_t ret_u32(const ret_area *ret, size_t offset) {
  uint32_t value;
  memcpy(&value, ret->bytes + offset, sizeof value);
  return value;
}

/* The host allocates returned strings and lists through this. */
__attribute__((export_name("cabi_realloc"))) void *cabi_realloc(void *old, size_t old_size, size_t align, size_t new_size) {
  (void)old_size;
  (void)align; /* malloc's alignment (16) covers every canonical ABI type. */
  if (new_size == 0) return (void *)align;
  void *moved = realloc(old, new_size);
  if (moved == NULL) abort();
  return moved;
}

struct wfn_request {
  int32_t handle;
  int32_t headers; /* 0 until asked for */
  char *method;
  char *path;
  char *header_value; /* the last one wfn_request_header returned */
  uint8_t *body;
  size_t body_len;
  int body_read, body_truncated;
};

struct wfn_response {
  int32_t headers;
  int status;
  uint8_t *body;
  size_t len, capacity;
};

/* A copy of (data, len) with a NUL after it. */
static char *terminated(const void *data, size_t len) {
  char *copy = malloc(len + 1);
  if (copy == NULL) abort();
  memcpy(copy, data, len);
  copy[len] = '\0';
  return copy;
}

static const char *const METHODS[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"};

const char *wfn_request_method(wfn_request *request) {
  if (request->method == NULL) {
    ret_area ret;
    request_method(request->handle, &ret);
    uint8_t tag = ret_u8(&ret, 0);
    if (tag < sizeof METHODS / sizeof METHODS[0]) {
      request->method = terminated(METHODS[tag], strlen(METHODS[tag]));
    } else {
      void *data = (void *)(uintptr_t)ret_u32(&ret, 4);
      request->method = terminated(data, ret_u32(&ret, 8));
      free(data);
    }
  }
  return request->method;
}

const char *wfn_request_path(wfn_request *request) {
  if (request->path == NULL) {
    ret_area ret;
    request_path(request->handle, &ret);
    if (ret_u8(&ret, 0) == 0) {
      request->path = terminated("/", 1);
    } else {
      void *data = (void *)(uintptr_t)ret_u32(&ret, 4);
      request->path = terminated(data, ret_u32(&ret, 8));
      free(data);
    }
  }
  return request->path;
}

const char *wfn_request_header(wfn_request *request, const char *name) {
  if (request->headers == 0) request->headers = request_headers(request->handle);
  ret_area ret;
  fields_get(request->headers, name, strlen(name), &ret);
  uint32_t *values = (uint32_t *)(uintptr_t)ret_u32(&ret, 0);
  uint32_t count = ret_u32(&ret, 4);
  free(request->header_value);
  request->header_value = NULL;
  for (uint32_t i = 0; i < count; i++) {
    void *data = (void *)(uintptr_t)values[2 * i];
    if (i == 0) request->header_value = terminated(data, values[2 * i + 1]);
    free(data);
  }
  free(values);
  return request->header_value;
}

wfn_bytes wfn_request_body(wfn_request *request, size_t max_bytes, int *truncated) {
  if (!request->body_read) {
    request->body_read = 1;
    ret_area ret;
    request_consume(request->handle, &ret);
    if (ret_u8(&ret, 0) == 0) {
      int32_t body = (int32_t)ret_u32(&ret, 4);
      body_stream(body, &ret);
      if (ret_u8(&ret, 0) == 0) {
        int32_t stream = (int32_t)ret_u32(&ret, 4);
        for (;;) {
          if (request->body_len >= max_bytes) {
            request->body_truncated = 1;
            break;
          }
          stream_read(stream, (int64_t)(max_bytes - request->body_len), &ret);
          if (ret_u8(&ret, 0) != 0) {
            if (ret_u8(&ret, 4) == 0) drop_io_error((int32_t)ret_u32(&ret, 8));
            break; /* closed: the whole body is read */
          }
          uint8_t *chunk = (uint8_t *)(uintptr_t)ret_u32(&ret, 4);
          size_t len = ret_u32(&ret, 8);
          uint8_t *grown = realloc(request->body, request->body_len + len + 1);
          if (grown == NULL) abort();
          memcpy(grown + request->body_len, chunk, len);
          request->body = grown;
          request->body_len += len;
          grown[request->body_len] = '\0';
          free(chunk);
        }
        drop_input_stream(stream);
      }
      drop_incoming_body(body);
    }
  }
  if (truncated != NULL) *truncated = request->body_truncated;
  return (wfn_bytes){request->body, request->body_len};
}

void wfn_response_status(wfn_response *response, int status) { response->status = status; }

int wfn_response_header(wfn_response *response, const char *name, const char *value) {
  ret_area ret;
  fields_append(response->headers, name, strlen(name), value, strlen(value), &ret);
  return ret_u8(&ret, 0) == 0 ? 0 : -1;
}

int wfn_response_write(wfn_response *response, const void *data, size_t len) {
  if (response->len + len > response->capacity) {
    size_t capacity = response->capacity == 0 ? 1024 : response->capacity;
    while (capacity < response->len + len) capacity *= 2;
    uint8_t *grown = realloc(response->body, capacity);
    if (grown == NULL) return -1;
    response->body = grown;
    response->capacity = capacity;
  }
  memcpy(response->body + response->len, data, len);
  response->len += len;
  return 0;
}

int wfn_response_printf(wfn_response *response, const char *format, ...) {
  va_list args;
  va_start(args, format);
  int needed = vsnprintf(NULL, 0, format, args);
  va_end(args);
  if (needed < 0) return -1;
  char *text = malloc((size_t)needed + 1);
  if (text == NULL) return -1;
  va_start(args, format);
  vsnprintf(text, (size_t)needed + 1, format, args);
  va_end(args);
  int written = wfn_response_write(response, text, (size_t)needed) == 0 ? needed : -1;
  free(text);
  return written;
}

/* Sends the response: status, headers, then the body in chunks the stream accepts. */
static void send_response(int32_t outparam, wfn_response *response) {
  int32_t outgoing = response_new(response->headers);
  if (response->status < 100 || response->status > 599 || response_set_status(outgoing, response->status) != 0) {
    response_set_status(outgoing, 500);
  }
  ret_area ret;
  response_body(outgoing, &ret);
  int32_t body = (int32_t)ret_u32(&ret, 4);
  body_write(body, &ret);
  int32_t stream = (int32_t)ret_u32(&ret, 4);
  outparam_set(outparam, 0, outgoing, 0, 0, 0, 0, 0, 0);
  for (size_t at = 0; at < response->len; at += WRITE_CHUNK) {
    size_t len = response->len - at < WRITE_CHUNK ? response->len - at : WRITE_CHUNK;
    stream_write(stream, response->body + at, len, &ret);
    if (ret_u8(&ret, 0) != 0) {
      if (ret_u8(&ret, 4) == 0) drop_io_error((int32_t)ret_u32(&ret, 8));
      break; /* the host refused the rest (past maxResponseBytes): it reports why */
    }
  }
  drop_output_stream(stream);
  body_finish(body, 0, 0, &ret);
}

__attribute__((export_name("wasi:http/incoming-handler@0.2.12#handle"))) void wfn_http_incoming_handle(int32_t handle, int32_t outparam) {
  wfn_request request = {.handle = handle};
  wfn_response response = {.headers = fields_new(), .status = 200};
  wfn_handle(&request, &response);
  /* Children before their parent: the headers and body before the request. */
  if (request.headers != 0) drop_fields(request.headers);
  drop_request(handle);
  send_response(outparam, &response);
  fflush(stdout);
  fflush(stderr);
  free(request.method);
  free(request.path);
  free(request.header_value);
  free(request.body);
  free(response.body);
}
