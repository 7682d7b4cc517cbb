/* fuzz_pcap_frame.c — libFuzzer target: one link-layer frame through
 * pa_pcap_decode_frame. The first input byte picks the link type. */
#include <stddef.h>
#include <stdint.h>

#include <pcap/dlt.h>

#include "collectors/pcap_source.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const int dlts[] = {DLT_EN10MB, DLT_LINUX_SLL, 276 /* SLL2 */, DLT_NULL,
                             DLT_LOOP,   DLT_RAW,       228 /* IPV4 */, 229 /* IPV6 */};
  struct pa_tcp_seg s;

  if (size < 1)
    return 0;
  if (pa_pcap_decode_frame(dlts[data[0] % 8], data + 1, size - 1, &s) == PA_FRAME_TCP) {
    /* the payload lies inside the frame */
    if (s.payload < data + 1 || s.len > size - 1 ||
        s.payload + s.len > data + size)
      __builtin_trap();
    if (s.family != 4 && s.family != 6)
      __builtin_trap();
  }
  return 0;
}
