/* event.c — helpers for the normalized records. */
#include "event.h"

#include <string.h>

void pa_event_init(struct pa_event *e)
{
  memset(e, 0, sizeof *e);
  e->outcome = -1;
  e->object_count = -1;
  e->secure = -1;
}

int pa_dimse_outcome(int status)
{
  if (status < 0)
    return -1;
  if (status == 0x0000)
    return 0;
  /* warnings (0001, 0107, 0116, Bxxx) and cancel (FE00) are minor failures */
  if (status == 0x0001 || status == 0x0107 || status == 0x0116 ||
      (status & 0xF000) == 0xB000 || status == 0xFE00)
    return 4;
  return 8;
}
