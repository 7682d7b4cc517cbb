/* fuzz_tls_hello.c — libFuzzer target: the input is what a TLS client sent. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "collectors/tls_hello.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct pa_tls_hello th;
  pa_rc rc;

  (void)pa_tls_sniff(data, size);
  rc = pa_tls_hello_parse(data, size, &th);
  if (rc == PA_OK) {
    /* the name is a printable C string within its buffer */
    size_t n = strnlen(th.server_name, sizeof th.server_name);
    if (n >= sizeof th.server_name)
      __builtin_trap();
    for (size_t i = 0; i < n; i++)
      if (th.server_name[i] < 0x21 || th.server_name[i] > 0x7e)
        __builtin_trap();
  }
  return 0;
}
