/* rofs: every kind of system call that would create, change or remove
 * something under the store, each called directly with syscall(2) so that
 * the legacy calls and their *at forms are both exercised, and each printed
 * as "label: ERRNO" (or "label: ok"). The store must look read-only to the
 * program, as a read-only mount does: a launcher must give the errno the
 * kernel gives there, in the kernel's order (EEXIST before EROFS for a
 * name that exists, ENOENT for a missing parent, EXDEV for a rename or a
 * link across the store's boundary), and change nothing. Reads and writes
 * to the working directory must still work.
 *
 * The first argument is a writable directory of the host (the working
 * directory); the store paths are compiled in. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>
#include <utime.h>

#if !defined(NOREF) || !defined(LINKONLY) || !defined(UNIXSOCK) || !defined(STORE_DIR)
#error "compile with -DSTORE_DIR=... -DNOREF=<noref item> -DLINKONLY=<linkonly item> -DUNIXSOCK=<unixsock item>"
#endif

#ifndef SYS_setxattrat
#define SYS_setxattrat 463
#define SYS_removexattrat 466
#endif
#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

struct xattr_args_ {
	unsigned long long value;
	unsigned size;
	unsigned flags;
};

#define SHARE NOREF "/share"
#define DATA SHARE "/data.txt"
#define EMPTY SHARE "/empty"
#define NEW SHARE "/new"
#define LINK LINKONLY "/share/target" /* -> DATA, an absolute store path */
#define RUN UNIXSOCK "/run"           /* an empty directory */
#define NOSUCH NOREF "/nosuch"

static const char *errname(int e) {
	static char buf[32];
	switch (e) {
	case ENOENT: return "ENOENT";
	case EROFS: return "EROFS";
	case EEXIST: return "EEXIST";
	case EXDEV: return "EXDEV";
	case EACCES: return "EACCES";
	case EPERM: return "EPERM";
	case EINVAL: return "EINVAL";
	case ENOTDIR: return "ENOTDIR";
	case EISDIR: return "EISDIR";
	case ELOOP: return "ELOOP";
	case EBADF: return "EBADF";
	case EBUSY: return "EBUSY";
	case ENOTEMPTY: return "ENOTEMPTY";
	case ENODATA: return "ENODATA";
	case ERANGE: return "ERANGE";
	case EADDRINUSE: return "EADDRINUSE";
	case ENOSYS: return "ENOSYS";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case ENAMETOOLONG: return "ENAMETOOLONG";
	}
	snprintf(buf, sizeof buf, "errno %d", e);
	return buf;
}

static void report(const char *label, long r) {
	if (r < 0)
		printf("%s: %s\n", label, errname(errno));
	else
		printf("%s: ok\n", label);
}

static void op(const char *label, long r) { report(label, r); }

static void open_(const char *label, const char *path, int flags) {
	long fd = syscall(SYS_open, path, flags, 0644);
	report(label, fd);
	if (fd >= 0)
		close(fd);
}

static void openat_(const char *label, int dirfd, const char *path, int flags) {
	long fd = syscall(SYS_openat, dirfd, path, flags, 0644);
	report(label, fd);
	if (fd >= 0)
		close(fd);
}

static void openat2_(const char *label, int dirfd, const char *path, int flags, unsigned long long resolve) {
	struct open_how how;
	memset(&how, 0, sizeof how);
	how.flags = flags;
	how.mode = flags & (O_CREAT | __O_TMPFILE) ? 0644 : 0;
	how.resolve = resolve;
	long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
	report(label, fd);
	if (fd >= 0)
		close(fd);
}

int main(int argc, char **argv) {
	if (argc != 2) {
		fprintf(stderr, "usage: rofs WORKDIR\n");
		return 2;
	}
	char work[4096], hostfile[4200], hostnew[4200], hostdots[4200], storedots[4200], nodir[4200];
	snprintf(work, sizeof work, "%s", argv[1]);
	snprintf(hostfile, sizeof hostfile, "%s/file", work);
	snprintf(hostnew, sizeof hostnew, "%s/new", work);
	snprintf(nodir, sizeof nodir, "%s/nosuch/x", work);
	/* Starts with the store, but .. leads out of it to the host. */
	snprintf(hostdots, sizeof hostdots, STORE_DIR "/../../%s/dots", strrchr(work, '/') + 1);
	/* Starts on the host, but .. leads into the store: up from the work
	 * directory to the deepest directory it shares with the store. */
	{
		const char *s = STORE_DIR;
		size_t i = 0, common = 0;
		while (work[i] && s[i] && work[i] == s[i]) {
			i++;
			if (s[i] == '/' && (work[i] == '/' || work[i] == '\0'))
				common = i;
		}
		size_t n = snprintf(storedots, sizeof storedots, "%s", work);
		for (const char *p = work + common; *p; p++)
			if (*p == '/')
				n += snprintf(storedots + n, sizeof storedots - n, "/..");
		snprintf(storedots + n, sizeof storedots - n, "%s", NEW + common);
	}
	int fd = open(hostfile, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, "host\n", 5) != 5 || close(fd) != 0) {
		perror("rofs: the working directory");
		return 1;
	}
	int share = open(SHARE, O_RDONLY | O_DIRECTORY);
	int data = open(DATA, O_RDONLY);
	int path = open(DATA, O_PATH);
	if (share < 0 || data < 0 || path < 0) {
		perror("rofs: opening the store's files");
		return 1;
	}

	/* Reads stay as they are. */
	char buf[256];
	ssize_t n = read(data, buf, sizeof buf - 1);
	buf[n > 0 ? n : 0] = '\0';
	printf("read data: %s", buf);
	op("access data R_OK", syscall(SYS_access, DATA, R_OK));
	op("access data W_OK", syscall(SYS_access, DATA, W_OK));
	op("faccessat2 share W_OK AT_EACCESS", syscall(SYS_faccessat2, AT_FDCWD, SHARE, W_OK, AT_EACCESS));
	op("getxattr data", syscall(SYS_getxattr, DATA, "user.x", buf, sizeof buf));

	open_("open data O_WRONLY", DATA, O_WRONLY);
	open_("open data O_RDWR", DATA, O_RDWR);
	open_("open data O_WRONLY|O_APPEND", DATA, O_WRONLY | O_APPEND);
	open_("open data O_RDONLY|O_TRUNC", DATA, O_RDONLY | O_TRUNC);
	open_("open data O_WRONLY|O_TRUNC", DATA, O_WRONLY | O_TRUNC);
	open_("open data O_RDONLY|O_CREAT", DATA, O_RDONLY | O_CREAT);
	open_("open data O_WRONLY|O_CREAT|O_EXCL", DATA, O_WRONLY | O_CREAT | O_EXCL);
	open_("open data O_PATH|O_WRONLY", DATA, O_PATH | O_WRONLY);
	open_("open new O_WRONLY|O_CREAT", NEW, O_WRONLY | O_CREAT);
	open_("open new O_RDONLY|O_CREAT", NEW, O_RDONLY | O_CREAT);
	open_("open new O_WRONLY|O_CREAT|O_EXCL", NEW, O_WRONLY | O_CREAT | O_EXCL);
	open_("open new O_WRONLY", NEW, O_WRONLY);
	open_("open nosuch/x O_CREAT", NOSUCH "/x", O_WRONLY | O_CREAT);
	open_("open data/x O_CREAT", DATA "/x", O_WRONLY | O_CREAT);
	open_("open share O_WRONLY", SHARE, O_WRONLY);
	open_("open share O_RDONLY|O_CREAT", SHARE, O_RDONLY | O_CREAT);
	open_("open share O_RDONLY|O_TRUNC", SHARE, O_RDONLY | O_TRUNC);
	open_("open data O_WRONLY|O_DIRECTORY", DATA, O_WRONLY | O_DIRECTORY);
	open_("open link O_WRONLY|O_TRUNC", LINK, O_WRONLY | O_TRUNC);
	open_("open link O_WRONLY|O_NOFOLLOW", LINK, O_WRONLY | O_NOFOLLOW);
	open_("open link O_CREAT|O_EXCL", LINK, O_WRONLY | O_CREAT | O_EXCL);
	open_("open store/../host O_CREAT", hostdots, O_WRONLY | O_CREAT);
	open_("open host/../store O_CREAT", storedots, O_WRONLY | O_CREAT);
	op("creat new", syscall(SYS_creat, NEW, 0644));
	op("creat data", syscall(SYS_creat, DATA, 0644));
	openat_("openat share new O_CREAT", share, "new", O_WRONLY | O_CREAT);
	openat_("openat share data.txt O_TRUNC", share, "data.txt", O_WRONLY | O_TRUNC);
	openat_("openat share data.txt O_RDONLY", share, "data.txt", O_RDONLY);
	openat2_("openat2 new O_CREAT", AT_FDCWD, NEW, O_WRONLY | O_CREAT, 0);
	openat2_("openat2 data O_WRONLY", AT_FDCWD, DATA, O_WRONLY, 0);
	openat2_("openat2 data O_RDONLY|O_TRUNC", AT_FDCWD, DATA, O_RDONLY | O_TRUNC, 0);
	openat2_("openat2 share new BENEATH O_CREAT", share, "new", O_WRONLY | O_CREAT, RESOLVE_BENEATH);
	openat2_("openat2 share data.txt BENEATH O_TRUNC", share, "data.txt", O_WRONLY | O_TRUNC, RESOLVE_BENEATH);
	openat2_("openat2 share data.txt IN_ROOT O_RDONLY", share, "/data.txt", O_RDONLY, RESOLVE_IN_ROOT);
	open_("open share O_TMPFILE", SHARE, O_TMPFILE | O_WRONLY);
	openat_("openat share . O_TMPFILE", share, ".", O_TMPFILE | O_RDWR);

	op("mkdir new", syscall(SYS_mkdir, NEW, 0755));
	op("mkdir share", syscall(SYS_mkdir, SHARE, 0755));
	op("mkdir data", syscall(SYS_mkdir, DATA, 0755));
	op("mkdir new/", syscall(SYS_mkdir, NEW "/", 0755));
	op("mkdir nosuch/x", syscall(SYS_mkdir, NOSUCH "/x", 0755));
	op("mkdir data/x", syscall(SYS_mkdir, DATA "/x", 0755));
	op("mkdir share/.", syscall(SYS_mkdir, SHARE "/.", 0755));
	op("mkdirat share new", syscall(SYS_mkdirat, share, "new", 0755));
	op("mkdirat share data.txt", syscall(SYS_mkdirat, share, "data.txt", 0755));
	op("mknod new fifo", syscall(SYS_mknod, NEW, S_IFIFO | 0644, 0));
	op("mknod data fifo", syscall(SYS_mknod, DATA, S_IFIFO | 0644, 0));
	op("mknodat share new", syscall(SYS_mknodat, share, "new", S_IFREG | 0644, 0));
	op("mknodat share new dir", syscall(SYS_mknodat, share, "new", S_IFDIR | 0755, 0));

	op("unlink data", syscall(SYS_unlink, DATA));
	op("unlink link", syscall(SYS_unlink, LINK));
	op("unlink new", syscall(SYS_unlink, NEW));
	op("unlink share", syscall(SYS_unlink, SHARE));
	op("unlink nosuch/x", syscall(SYS_unlink, NOSUCH "/x"));
	op("unlink data/x", syscall(SYS_unlink, DATA "/x"));
	op("unlinkat share data.txt", syscall(SYS_unlinkat, share, "data.txt", 0));
	op("unlinkat share new", syscall(SYS_unlinkat, share, "new", 0));
	op("unlinkat share .", syscall(SYS_unlinkat, share, ".", 0));
	op("rmdir run", syscall(SYS_rmdir, RUN));
	op("rmdir share", syscall(SYS_rmdir, SHARE));
	op("rmdir new", syscall(SYS_rmdir, NEW));
	op("rmdir data", syscall(SYS_rmdir, DATA));
	op("rmdir share/.", syscall(SYS_rmdir, SHARE "/."));
	op("rmdir share/..", syscall(SYS_rmdir, SHARE "/.."));
	op("rmdir nosuch/x", syscall(SYS_rmdir, NOSUCH "/x"));
	op("unlinkat AT_REMOVEDIR run", syscall(SYS_unlinkat, AT_FDCWD, RUN, AT_REMOVEDIR));

	op("rename data new", syscall(SYS_rename, DATA, NEW));
	op("rename data empty", syscall(SYS_rename, DATA, EMPTY));
	op("rename new data", syscall(SYS_rename, NEW, DATA));
	op("rename data host", syscall(SYS_rename, DATA, hostnew));
	op("rename host new", syscall(SYS_rename, hostfile, NEW));
	op("rename new host", syscall(SYS_rename, NEW, hostnew));
	op("rename data host/nosuch/x", syscall(SYS_rename, DATA, nodir));
	op("rename nosuch/x host", syscall(SYS_rename, NOSUCH "/x", hostnew));
	op("rename run share/run", syscall(SYS_rename, RUN, SHARE "/run"));
	op("renameat share data.txt share new", syscall(SYS_renameat, share, "data.txt", share, "new"));
	op("renameat2 NOREPLACE data empty", syscall(SYS_renameat2, AT_FDCWD, DATA, AT_FDCWD, EMPTY, RENAME_NOREPLACE));
	op("renameat2 EXCHANGE data empty", syscall(SYS_renameat2, AT_FDCWD, DATA, AT_FDCWD, EMPTY, RENAME_EXCHANGE));
	op("renameat2 EXCHANGE host data", syscall(SYS_renameat2, AT_FDCWD, hostfile, AT_FDCWD, DATA, RENAME_EXCHANGE));

	op("link data new", syscall(SYS_link, DATA, NEW));
	op("link data host", syscall(SYS_link, DATA, hostnew));
	op("link data host/file", syscall(SYS_link, DATA, hostfile));
	op("link host new", syscall(SYS_link, hostfile, NEW));
	op("link host data", syscall(SYS_link, hostfile, DATA));
	op("link nosuch host", syscall(SYS_link, NOSUCH, hostnew));
	op("link data host/nosuch/x", syscall(SYS_link, DATA, nodir));
	op("linkat FOLLOW link host", syscall(SYS_linkat, AT_FDCWD, LINK, AT_FDCWD, hostnew, AT_SYMLINK_FOLLOW));
	op("linkat host share new", syscall(SYS_linkat, AT_FDCWD, hostfile, share, "new", 0));
	op("symlink new", syscall(SYS_symlink, "data.txt", NEW));
	op("symlink data", syscall(SYS_symlink, "data.txt", DATA));
	op("symlink nosuch/x", syscall(SYS_symlink, "data.txt", NOSUCH "/x"));
	op("symlinkat share new", syscall(SYS_symlinkat, "data.txt", share, "new"));
	op("symlink to the store on the host", syscall(SYS_symlink, DATA, hostnew));
	unlink(hostnew);

	op("chmod data", syscall(SYS_chmod, DATA, 0644));
	op("chmod share", syscall(SYS_chmod, SHARE, 0755));
	op("chmod link", syscall(SYS_chmod, LINK, 0644));
	op("chmod new", syscall(SYS_chmod, NEW, 0644));
	op("fchmodat share data.txt", syscall(SYS_fchmodat, share, "data.txt", 0644));
	op("fchmodat2 link NOFOLLOW", syscall(SYS_fchmodat2, AT_FDCWD, LINK, 0644, AT_SYMLINK_NOFOLLOW));
	op("fchmodat2 data EMPTY_PATH", syscall(SYS_fchmodat2, data, "", 0644, AT_EMPTY_PATH));
	op("fchmodat2 O_PATH EMPTY_PATH", syscall(SYS_fchmodat2, path, "", 0644, AT_EMPTY_PATH));
	op("fchmod data", syscall(SYS_fchmod, data, 0644));
	op("fchmod O_PATH", syscall(SYS_fchmod, path, 0644));
	op("fchmod share", syscall(SYS_fchmod, share, 0755));
	op("chown data", syscall(SYS_chown, DATA, getuid(), getgid()));
	op("chown data -1 -1", syscall(SYS_chown, DATA, -1, -1));
	op("chown new", syscall(SYS_chown, NEW, getuid(), getgid()));
	op("lchown link", syscall(SYS_lchown, LINK, getuid(), getgid()));
	op("fchownat share data.txt", syscall(SYS_fchownat, share, "data.txt", getuid(), getgid(), 0));
	op("fchownat data EMPTY_PATH", syscall(SYS_fchownat, data, "", getuid(), getgid(), AT_EMPTY_PATH));
	op("fchown data", syscall(SYS_fchown, data, getuid(), getgid()));
	op("fchown O_PATH", syscall(SYS_fchown, path, getuid(), getgid()));

	struct utimbuf ub = {1, 1};
	struct timeval tv[2] = {{1, 0}, {1, 0}};
	struct timespec omit[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
	struct timespec bad[2] = {{0, 2000000000}, {0, 0}};
	op("utime data NULL", syscall(SYS_utime, DATA, NULL));
	op("utime data", syscall(SYS_utime, DATA, &ub));
	op("utimes data", syscall(SYS_utimes, DATA, tv));
	op("utimes new", syscall(SYS_utimes, NEW, tv));
	op("futimesat share data.txt", syscall(SYS_futimesat, share, "data.txt", tv));
	op("utimensat data", syscall(SYS_utimensat, AT_FDCWD, DATA, NULL, 0));
	op("utimensat link NOFOLLOW", syscall(SYS_utimensat, AT_FDCWD, LINK, NULL, AT_SYMLINK_NOFOLLOW));
	op("utimensat data OMIT", syscall(SYS_utimensat, AT_FDCWD, DATA, omit, 0));
	op("utimensat data bad nsec", syscall(SYS_utimensat, AT_FDCWD, DATA, bad, 0));
	op("utimensat new", syscall(SYS_utimensat, AT_FDCWD, NEW, NULL, 0));
	op("futimens data", syscall(SYS_utimensat, data, NULL, NULL, 0));
	op("futimens O_PATH", syscall(SYS_utimensat, path, NULL, NULL, 0));
	op("utimensat data EMPTY_PATH", syscall(SYS_utimensat, data, "", NULL, AT_EMPTY_PATH));

	op("truncate data", syscall(SYS_truncate, DATA, 0));
	op("truncate share", syscall(SYS_truncate, SHARE, 0));
	op("truncate new", syscall(SYS_truncate, NEW, 0));
	op("truncate data -1", syscall(SYS_truncate, DATA, (long)-1));
	op("ftruncate data", syscall(SYS_ftruncate, data, 0));

	op("setxattr data", syscall(SYS_setxattr, DATA, "user.x", "v", 1, 0));
	op("setxattr data empty name", syscall(SYS_setxattr, DATA, "", "v", 1, 0));
	op("setxattr data bad flags", syscall(SYS_setxattr, DATA, "user.x", "v", 1, 99));
	op("setxattr new", syscall(SYS_setxattr, NEW, "user.x", "v", 1, 0));
	op("lsetxattr link", syscall(SYS_lsetxattr, LINK, "user.x", "v", 1, 0));
	op("fsetxattr data", syscall(SYS_fsetxattr, data, "user.x", "v", 1, 0));
	op("fsetxattr O_PATH", syscall(SYS_fsetxattr, path, "user.x", "v", 1, 0));
	op("removexattr data", syscall(SYS_removexattr, DATA, "user.x"));
	op("lremovexattr link", syscall(SYS_lremovexattr, LINK, "user.x"));
	op("fremovexattr data", syscall(SYS_fremovexattr, data, "user.x"));
	struct xattr_args_ xa = {(unsigned long long)(unsigned long)"v", 1, 0};
	op("setxattrat share data.txt", syscall(SYS_setxattrat, share, "data.txt", 0, "user.x", &xa, sizeof xa));
	op("setxattrat data EMPTY_PATH", syscall(SYS_setxattrat, data, "", AT_EMPTY_PATH, "user.x", &xa, sizeof xa));
	op("removexattrat link NOFOLLOW", syscall(SYS_removexattrat, AT_FDCWD, LINK, AT_SYMLINK_NOFOLLOW, "user.x"));

	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", NEW);
	op("bind new", syscall(SYS_bind, s, &sa, sizeof sa));
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", DATA);
	op("bind data", syscall(SYS_bind, s, &sa, sizeof sa));
	close(s);
	op("acct data", syscall(SYS_acct, DATA));
	op("swapon data", syscall(SYS_swapon, DATA, 0));

	/* And the host, through the same calls, still works. */
	op("host write", (fd = open(hostnew, O_WRONLY | O_CREAT | O_EXCL, 0600)) < 0 ? -1 : write(fd, "x\n", 2));
	close(fd);
	snprintf(nodir, sizeof nodir, "%s/dir", work);
	op("host mkdir", syscall(SYS_mkdir, nodir, 0755));
	op("host rmdir", syscall(SYS_rmdir, nodir));
	op("host chmod", syscall(SYS_chmod, hostnew, 0644));
	op("host fchmod", (fd = open(hostnew, O_RDONLY)) < 0 ? -1 : syscall(SYS_fchmod, fd, 0640));
	close(fd);
	op("host rename", syscall(SYS_rename, hostnew, hostfile));
	op("host unlink", syscall(SYS_unlink, hostfile));
	op("host unlink dots", syscall(SYS_unlink, hostdots));
	return 0;
}
