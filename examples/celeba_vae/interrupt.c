/* SIGINT / SIGTERM flag. */
#include "interrupt.h"

#include <signal.h>
#include <string.h>

static volatile sig_atomic_t received;

static void on_signal(int sig)
{
  received = sig;
}

int vae_interrupt_install(void)
{
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESETHAND; /* the second one is not caught */
  received = 0;
  if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0)
    return -1;
  return 0;
}

int vae_interrupted(void)
{
  return received;
}

void vae_interrupt_clear(void)
{
  received = 0;
}
