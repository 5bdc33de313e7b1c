/* newsys: statx and openat2 called directly with syscall(2) on store paths,
 * as newer programs and runtimes do (coreutils' ls uses statx; glibc has no
 * openat2 wrapper). A launcher that rewrites path arguments must know these
 * system calls, and must keep openat2's RESOLVE_* rules: a store symlink is
 * still a symlink, and a lookup beneath a directory descriptor must not
 * escape it. Errors print as errno names; ENOSYS is printed like any other,
 * so a kernel without these calls gives a different but stable output. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#if !defined(STORE_DIR) || !defined(DATA_REL) || !defined(LINK_REL)
#error "compile with -DSTORE_DIR=\"<store>\" -DDATA_REL=\"<hash>-noref/share/data.txt\" -DLINK_REL=\"<hash>-linkonly/share/target\""
#endif

#define DATA_PATH STORE_DIR "/" DATA_REL
#define LINK_PATH STORE_DIR "/" LINK_REL

static const char *errname(int e) {
	static char buf[32];
	switch (e) {
	case ENOENT: return "ENOENT";
	case ENOSYS: return "ENOSYS";
	case ELOOP: return "ELOOP";
	case EXDEV: return "EXDEV";
	case EACCES: return "EACCES";
	case EPERM: return "EPERM";
	case EINVAL: return "EINVAL";
	case ENOTDIR: return "ENOTDIR";
	case E2BIG: return "E2BIG";
	case EAGAIN: return "EAGAIN";
	}
	snprintf(buf, sizeof buf, "errno %d", e);
	return buf;
}

static const char *kind(unsigned mode) {
	switch (mode & S_IFMT) {
	case S_IFREG: return "reg";
	case S_IFDIR: return "dir";
	case S_IFLNK: return "lnk";
	}
	return "other";
}

/* The statx of DATA_PATH, to compare with what openat2 opens. */
static struct statx data_stx;
static int have_data_stx;

static void do_statx(const char *label, int dirfd, const char *path, int flags, struct statx *out) {
	struct statx stx;
	memset(&stx, 0, sizeof stx);
	if (syscall(SYS_statx, dirfd, path, flags, STATX_TYPE | STATX_MODE | STATX_SIZE | STATX_INO, &stx) != 0) {
		printf("statx %s: %s\n", label, errname(errno));
		return;
	}
	printf("statx %s: %s %04o %llu\n", label, kind(stx.stx_mode), stx.stx_mode & 07777,
	       (unsigned long long)stx.stx_size);
	if (out != NULL) {
		*out = stx;
		have_data_stx = 1;
	}
}

static void do_openat2(const char *label, int dirfd, const char *path, unsigned long long resolve, int same) {
	struct open_how how;
	memset(&how, 0, sizeof how);
	how.flags = O_RDONLY | O_CLOEXEC;
	how.resolve = resolve;
	long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
	if (fd < 0) {
		printf("openat2 %s: %s\n", label, errname(errno));
		return;
	}
	char buf[256];
	ssize_t n = read((int)fd, buf, sizeof buf - 1);
	if (n < 0) {
		printf("openat2 %s: read: %s\n", label, errname(errno));
		close((int)fd);
		return;
	}
	buf[n] = '\0';
	printf("openat2 %s: %s", label, buf);
	if (same && have_data_stx) {
		struct stat st;
		if (fstat((int)fd, &st) != 0)
			printf("fstat: %s\n", errname(errno));
		else
			printf("the file openat2 opened is the one statx saw: %s\n",
			       st.st_ino == data_stx.stx_ino &&
			       st.st_dev == makedev(data_stx.stx_dev_major, data_stx.stx_dev_minor) ? "yes" : "no");
	}
	close((int)fd);
}

int main(void) {
	int store = open(STORE_DIR, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (store < 0) {
		perror("newsys: open " STORE_DIR);
		return 1;
	}
	do_statx("data", AT_FDCWD, DATA_PATH, 0, &data_stx);
	do_statx("link nofollow", AT_FDCWD, LINK_PATH, AT_SYMLINK_NOFOLLOW, NULL);
	do_statx("link", AT_FDCWD, LINK_PATH, 0, NULL);
	do_statx("storefd data", store, DATA_REL, 0, NULL);
	do_openat2("data", AT_FDCWD, DATA_PATH, 0, 1);
	do_openat2("data NO_MAGICLINKS", AT_FDCWD, DATA_PATH, RESOLVE_NO_MAGICLINKS, 0);
	do_openat2("link NO_MAGICLINKS", AT_FDCWD, LINK_PATH, RESOLVE_NO_MAGICLINKS, 0);
	/* The link is an absolute symlink into the store: still a symlink. */
	do_openat2("link NO_SYMLINKS", AT_FDCWD, LINK_PATH, RESOLVE_NO_SYMLINKS, 0);
	do_openat2("storefd data BENEATH", store, DATA_REL, RESOLVE_BENEATH, 0);
	/* An absolute symlink leaves the directory, even one into the store. */
	do_openat2("storefd link BENEATH", store, LINK_REL, RESOLVE_BENEATH, 0);
	/* "/" is the descriptor's directory: the store, not the root. */
	do_openat2("storefd /data IN_ROOT", store, "/" DATA_REL, RESOLVE_IN_ROOT, 0);
	close(store);
	return 0;
}
