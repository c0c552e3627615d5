#include "cisal.h"

#include <dlfcn.h>
#include <stddef.h>

const char *cisal_load(const char *library, struct cisal_functions *functions) {
    void *handle = dlopen(library, RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) return dlerror();
    /* Never closed on success: the functions are used until the process exits. */
    functions->inflate_init = dlsym(handle, "isal_inflate_init");
    functions->inflate_reset = dlsym(handle, "isal_inflate_reset");
    functions->inflate = dlsym(handle, "isal_inflate");
    functions->read_gzip_header = dlsym(handle, "isal_read_gzip_header");
    functions->gzip_header_init = dlsym(handle, "isal_gzip_header_init");
    if (functions->inflate_init == NULL || functions->inflate_reset == NULL || functions->inflate == NULL
        || functions->read_gzip_header == NULL || functions->gzip_header_init == NULL) {
        const char *error = dlerror();
        dlclose(handle);
        return error != NULL ? error : "a function of ISA-L's inflate is missing";
    }
    return NULL;
}
