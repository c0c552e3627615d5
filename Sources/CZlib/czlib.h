#ifndef CZLIB_H
#define CZLIB_H

#include <zlib.h>

/* inflateInit2 is a macro, which Swift cannot import. Window bits 15 + 16 accept the gzip
   wrapper only: input reaches zlib because it starts with the gzip magic. */
static inline int czlib_inflate_init_gzip(z_stream *stream) {
    return inflateInit2(stream, 15 + 16);
}

#endif
