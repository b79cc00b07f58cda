/*
 * LD_PRELOAD shim for the Janus process the load test starts, and for nothing else.
 *
 * Janus 1.1.2 builds each PeerConnection's ICE candidates from getifaddrs() and skips every
 * interface flagged IFF_LOOPBACK, so on a machine where the test may only use 127.0.0.1 it would
 * offer no candidate at all and ICE would fail. This wrapper calls the real getifaddrs() and
 * clears that one flag; the addresses themselves are untouched. Which interfaces Janus may use is
 * still decided by its configuration (the load test sets ice_enforce_list to 127.0.0.1).
 *
 * Built at run time by loadtest: cc -shared -fPIC -o no_loopback_flag.so no_loopback_flag.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stddef.h>

typedef int (*getifaddrs_fn)(struct ifaddrs **);

int getifaddrs(struct ifaddrs **list)
{
	/* Looked up on every call: cheap next to the netlink dump, and no state to share between threads. */
	getifaddrs_fn next = (getifaddrs_fn)dlsym(RTLD_NEXT, "getifaddrs");
	if (next == NULL) {
		errno = ENOSYS;
		return -1;
	}
	int result = next(list);
	if (result != 0 || list == NULL)
		return result;
	for (struct ifaddrs *entry = *list; entry != NULL; entry = entry->ifa_next)
		entry->ifa_flags &= ~(unsigned int)IFF_LOOPBACK;
	return result;
}
