#ifndef CISAL_H
#define CISAL_H

/* ISA-L inflate (Debian libisal-dev); only built with the ISAL package trait. */
#include <isa-l/igzip_lib.h>

#endif
