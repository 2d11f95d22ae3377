/* Ctrl-C during training: the first SIGINT (or a SIGTERM) only sets a flag,
 * which the training loop checks after each step to save a checkpoint and
 * exit cleanly; a second SIGINT ends the program at once (the handler is
 * installed with SA_RESETHAND). */
#ifndef VAE_INTERRUPT_H
#define VAE_INTERRUPT_H

/* Install the handlers and clear the flag. Returns 0 or -1 (errno set). */
int vae_interrupt_install(void);

/* The signal received (SIGINT or SIGTERM), or 0. */
int vae_interrupted(void);

/* Clear the flag (tests). */
void vae_interrupt_clear(void);

#endif /* VAE_INTERRUPT_H */
