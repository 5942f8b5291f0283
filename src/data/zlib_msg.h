/* zlib error text for the image readers (idx.c, cifar.c). */
#ifndef LAMINA_DATA_ZLIB_MSG_H
#define LAMINA_DATA_ZLIB_MSG_H

#include <string.h>

/* zlib's message without the "<fd:N>: " prefix that gzdopen'ed files get. */
static inline const char *zmsg(const char *m)
{
    if (!m) return "?";
    if (strncmp(m, "<fd:", 4) == 0) {
        const char *p = strstr(m, ">: ");
        if (p) return p + 3;
    }
    return m;
}

#endif
