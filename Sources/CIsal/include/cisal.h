#ifndef CISAL_H
#define CISAL_H

/* ISA-L's inflate, loaded at run time from libisal.so.2 (Debian libisal2): flagwatch builds
   and runs without it, and uses zlib then. The types are those of the vendored header. */
#include "igzip_lib.h"

/* The functions flagwatch calls, from the loaded library. */
struct cisal_functions {
    void (*inflate_init)(struct inflate_state *state);
    void (*inflate_reset)(struct inflate_state *state);
    int (*inflate)(struct inflate_state *state);
    int (*read_gzip_header)(struct inflate_state *state, struct isal_gzip_header *header);
    void (*gzip_header_init)(struct isal_gzip_header *header);
};

/* Opens `library` (a file name dlopen searches for, or a path) and fills `functions`.
   Returns NULL on success, or dlerror()'s text when the library or one of its functions is
   missing; then nothing is kept open. */
const char *cisal_load(const char *library, struct cisal_functions *functions);

#endif
