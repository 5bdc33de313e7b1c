/* hostlink: symlinks OUTSIDE the store that lead into it, as a venv's
 * bin/python, ~/bin/tool or a profile link are. It makes them in its working
 * directory (argv[1]), on the host: absolute and relative links to a store
 * program, a chain of host links, links to a store directory, to a store
 * link, to the store directory itself and to its parent, a dangling one, a
 * loop, and a host-only link for comparison. Then it goes through them with
 * every family of path-carrying system call: the stat family, the open
 * family, readlink (which must give the link's own text), chdir and getcwd,
 * the *at calls with a directory descriptor opened through a link, exec,
 * and a script whose #! interpreter is such a link. The kernel follows a
 * link into the store path wherever the link is, so a launcher must too.
 * It removes what it made. Errors print as errno names. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#if !defined(STORE_DIR) || !defined(HELLO) || !defined(SHARE_REL) || !defined(PROFILE_HELLO) || \
	!defined(SELFEXE) || !defined(DASH)
#error "compile with -DSTORE_DIR, -DHELLO, -DSHARE_REL (<hash>-noref/share), -DPROFILE_HELLO, -DSELFEXE, -DDASH"
#endif

#define SHARE STORE_DIR "/" SHARE_REL

static const char *work;
static int workfd;

static const char *errname(int e) {
	static char buf[32];
	switch (e) {
	case ENOENT: return "ENOENT";
	case ENOSYS: return "ENOSYS";
	case ELOOP: return "ELOOP";
	case EACCES: return "EACCES";
	case ENOTDIR: return "ENOTDIR";
	case EROFS: return "EROFS";
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

/* w returns work/name in one of a few static buffers. */
static const char *w(const char *name) {
	static char bufs[4][PATH_MAX];
	static int i;
	char *b = bufs[i++ % 4];
	snprintf(b, PATH_MAX, "%s/%s", work, name);
	return b;
}

static void show_stat(const char *label, int r, const struct stat *st) {
	if (r != 0) {
		printf("%s: %s\n", label, errname(errno));
		return;
	}
	if (S_ISLNK(st->st_mode))
		printf("%s: lnk\n", label); /* the size is the target's length */
	else if (S_ISREG(st->st_mode) && (st->st_mode & 0111) == 0)
		printf("%s: %s %04o %lld\n", label, kind(st->st_mode), st->st_mode & 07777, (long long)st->st_size);
	else
		printf("%s: %s %04o\n", label, kind(st->st_mode), st->st_mode & 07777);
}

static void do_stat(const char *label, const char *path) {
	struct stat st;
	int r = stat(path, &st);
	show_stat(label, r, &st);
}

static void do_lstat(const char *label, const char *path) {
	struct stat st;
	int r = lstat(path, &st);
	show_stat(label, r, &st);
}

static void do_fstatat(const char *label, int dirfd, const char *path, int flags) {
	struct stat st;
	int r = fstatat(dirfd, path, &st, flags);
	show_stat(label, r, &st);
}

static void do_statx(const char *label, const char *path, int flags) {
	struct statx stx;
	if (syscall(SYS_statx, AT_FDCWD, path, flags, STATX_TYPE | STATX_MODE | STATX_SIZE, &stx) != 0) {
		printf("%s: %s\n", label, errname(errno));
		return;
	}
	struct stat st = {.st_mode = stx.stx_mode, .st_size = (off_t)stx.stx_size};
	show_stat(label, 0, &st);
}

/* show_fd prints the first line of what fd reads, and closes it. */
static void show_fd(const char *label, int fd) {
	if (fd < 0) {
		printf("%s: %s\n", label, errname(errno));
		return;
	}
	char buf[256];
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n < 0) {
		printf("%s: read %s\n", label, errname(errno));
		return;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	printf("%s: %s\n", label, buf);
}

static void do_openat2(const char *label, int dirfd, const char *path, unsigned long long resolve) {
	struct open_how how;
	memset(&how, 0, sizeof how);
	how.flags = O_RDONLY | O_CLOEXEC;
	how.resolve = resolve;
	show_fd(label, (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how));
}

static void do_readlinkat(const char *label, int dirfd, const char *path, const char *want) {
	char buf[PATH_MAX];
	ssize_t n = readlinkat(dirfd, path, buf, sizeof buf - 1);
	if (n < 0) {
		printf("%s: %s\n", label, errname(errno));
		return;
	}
	buf[n] = '\0';
	if (want != NULL)
		printf("%s: %s\n", label, strcmp(buf, want) == 0 ? "the link's own text" : buf);
	else
		printf("%s: %s\n", label, buf);
}

static void show_cwd(const char *label) {
	char buf[PATH_MAX];
	if (getcwd(buf, sizeof buf) == NULL) {
		printf("%s: %s\n", label, errname(errno));
		return;
	}
	printf("%s: %s\n", label, strcmp(buf, work) == 0 ? "the working directory" : buf);
}

/* do_exec runs path with argv {argv0, arg} in a child, with execve or, if
 * dirfd is not AT_FDCWD, execveat, and prints how it ended. */
static void do_exec(const char *label, int dirfd, const char *path, const char *argv0, const char *arg) {
	printf("%s:\n", label);
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		printf("fork: %s\n", errname(errno));
		return;
	}
	if (pid == 0) {
		char *argv[] = {(char *)argv0, (char *)arg, NULL};
		extern char **environ;
		if (dirfd == AT_FDCWD)
			execv(path, argv);
		else
			syscall(SYS_execveat, dirfd, path, argv, environ, 0);
		printf("%s: exec %s\n", label, errname(errno));
		fflush(stdout);
		_exit(127);
	}
	int status;
	waitpid(pid, &status, 0);
	printf("%s: exit %d\n", label, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

/* relative is the target of a relative link in work to the absolute path
 * p: up to / and down again. */
static const char *relative(const char *p) {
	static char buf[PATH_MAX];
	buf[0] = '\0';
	for (const char *c = work; *c; c++)
		if (*c == '/')
			strcat(buf, "../");
	strcat(buf, p + 1);
	return buf;
}

static void link_or_die(const char *target, const char *name) {
	if (symlink(target, w(name)) != 0) {
		printf("symlink %s: %s\n", name, errname(errno));
		exit(1);
	}
}

static const char *made[] = {"abs", "rel", "chain1", "chain2", "share", "relshare", "dirchain", "plink",
	"store", "up", "dangling", "loop1", "loop2", "se", "sh", "script", "hostfile", "hl"};

int main(int argc, char **argv) {
	if (argc != 2) {
		fprintf(stderr, "usage: hostlink DIR\n");
		return 2;
	}
	work = argv[1];
	char rel[PATH_MAX], relshare[PATH_MAX], up[PATH_MAX];
	snprintf(rel, sizeof rel, "%s", relative(HELLO));
	snprintf(relshare, sizeof relshare, "%s", relative(SHARE));
	snprintf(up, sizeof up, "%s", STORE_DIR);
	*strrchr(up, '/') = '\0';
	const char *store = strrchr(STORE_DIR, '/') + 1;

	link_or_die(HELLO, "abs");
	link_or_die(rel, "rel");
	link_or_die("chain2", "chain1"); /* host -> host -> host -> store */
	link_or_die(w("abs"), "chain2");
	link_or_die(SHARE, "share");
	link_or_die(relshare, "relshare");
	link_or_die("share", "dirchain");
	link_or_die(PROFILE_HELLO, "plink"); /* host -> store link -> store */
	link_or_die(STORE_DIR, "store");
	link_or_die(up, "up");
	link_or_die(SHARE "/missing", "dangling");
	link_or_die("loop2", "loop1");
	link_or_die("loop1", "loop2");
	link_or_die(SELFEXE, "se");
	link_or_die(DASH, "sh");
	link_or_die("hostfile", "hl");
	FILE *f = fopen(w("hostfile"), "w");
	if (f == NULL || fputs("host data\n", f) < 0 || fclose(f) != 0 || chmod(w("hostfile"), 0644) != 0) {
		printf("hostfile: %s\n", errname(errno));
		return 1;
	}
	/* A venv's console script: its #! names the venv's link to the
	 * store's interpreter. */
	f = fopen(w("script"), "w");
	if (f == NULL || fprintf(f, "#!%s\necho \"script: $# $1\"\n", w("sh")) < 0 || fclose(f) != 0 ||
	    chmod(w("script"), 0755) != 0) {
		printf("script: %s\n", errname(errno));
		return 1;
	}
	workfd = open(work, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (workfd < 0) {
		printf("open %s: %s\n", work, errname(errno));
		return 1;
	}
	char path[PATH_MAX];

	/* The stat family. */
	do_stat("stat abs", w("abs"));
	do_lstat("lstat abs", w("abs"));
	do_stat("stat rel", w("rel"));
	do_stat("stat chain1", w("chain1"));
	do_stat("stat plink", w("plink"));
	do_stat("stat share/data.txt", w("share/data.txt"));
	do_stat("stat relshare/data.txt", w("relshare/data.txt"));
	do_stat("stat dirchain/data.txt", w("dirchain/data.txt"));
	do_stat("stat share/", w("share/"));
	do_lstat("lstat share/", w("share/"));
	do_lstat("lstat share", w("share"));
	snprintf(path, sizeof path, "%s/" SHARE_REL "/data.txt", w("store"));
	do_stat("stat store/.../data.txt", path);
	snprintf(path, sizeof path, "%s/%s/" SHARE_REL "/data.txt", w("up"), store);
	do_stat("stat up/<store>/.../data.txt", path);
	do_stat("stat share/../share/data.txt", w("share/../share/data.txt"));
	do_stat("stat dangling", w("dangling"));
	do_lstat("lstat dangling", w("dangling"));
	do_stat("stat loop1", w("loop1"));
	do_stat("stat hl", w("hl"));
	do_fstatat("fstatat workfd abs", workfd, "abs", 0);
	do_fstatat("fstatat workfd abs nofollow", workfd, "abs", AT_SYMLINK_NOFOLLOW);
	do_fstatat("fstatat workfd share/empty", workfd, "share/empty", 0);
	do_statx("statx share/data.txt", w("share/data.txt"), 0);
	do_statx("statx share nofollow", w("share"), AT_SYMLINK_NOFOLLOW);
	do_statx("statx share/ nofollow", w("share/"), AT_SYMLINK_NOFOLLOW);
#ifdef SYS_stat
	{
		struct stat st;
		int r = (int)syscall(SYS_stat, w("rel"), &st);
		show_stat("SYS_stat rel", r, &st);
		r = (int)syscall(SYS_lstat, w("rel"), &st);
		show_stat("SYS_lstat rel", r, &st);
	}
#endif
	printf("access abs X_OK: %s\n", access(w("abs"), X_OK) == 0 ? "ok" : errname(errno));
	printf("faccessat workfd chain1 X_OK: %s\n", faccessat(workfd, "chain1", X_OK, 0) == 0 ? "ok" : errname(errno));
	{
		struct statfs sfs;
		printf("statfs share: %s\n", statfs(w("share"), &sfs) == 0 ? "ok" : errname(errno));
		int in = inotify_init1(IN_CLOEXEC);
		printf("inotify_add_watch share: %s\n",
		       in >= 0 && inotify_add_watch(in, w("share"), IN_OPEN) >= 0 ? "ok" : errname(errno));
		if (in >= 0)
			close(in);
	}

	/* The open family. */
	show_fd("open share/data.txt", open(w("share/data.txt"), O_RDONLY | O_CLOEXEC));
	show_fd("openat workfd relshare/data.txt", openat(workfd, "relshare/data.txt", O_RDONLY | O_CLOEXEC));
	show_fd("openat workfd dirchain/data.txt", openat(workfd, "dirchain/data.txt", O_RDONLY | O_CLOEXEC));
	show_fd("open share/data.txt O_NOFOLLOW", open(w("share/data.txt"), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
	show_fd("open hl", open(w("hl"), O_RDONLY | O_CLOEXEC));
	show_fd("open dangling", open(w("dangling"), O_RDONLY | O_CLOEXEC));
	do_openat2("openat2 share/data.txt", AT_FDCWD, w("share/data.txt"), 0);
	do_openat2("openat2 share/data.txt NO_SYMLINKS", AT_FDCWD, w("share/data.txt"), RESOLVE_NO_SYMLINKS);
#ifdef SYS_open
	show_fd("SYS_open relshare/data.txt", (int)syscall(SYS_open, w("relshare/data.txt"), O_RDONLY | O_CLOEXEC));
#endif
	/* A descriptor of a directory opened through a link, and the *at
	 * calls relative to it. */
	int sharefd = open(w("dirchain"), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sharefd < 0) {
		printf("open dirchain O_DIRECTORY: %s\n", errname(errno));
	} else {
		snprintf(path, sizeof path, "/proc/self/fd/%d", sharefd);
		do_readlinkat("sharefd is", AT_FDCWD, path, NULL);
		do_fstatat("fstatat sharefd data.txt nofollow", sharefd, "data.txt", AT_SYMLINK_NOFOLLOW);
		do_fstatat("fstatat sharefd empty", sharefd, "empty", 0);
		show_fd("openat sharefd data.txt", openat(sharefd, "data.txt", O_RDONLY | O_CLOEXEC));
		show_fd("openat sharefd ../share/data.txt", openat(sharefd, "../share/data.txt", O_RDONLY | O_CLOEXEC));
		do_openat2("openat2 sharefd data.txt BENEATH", sharefd, "data.txt", RESOLVE_BENEATH);
		int dup = openat(sharefd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		DIR *d = dup >= 0 ? fdopendir(dup) : NULL;
		if (d == NULL) {
			printf("list sharefd: %s\n", errname(errno));
		} else {
			/* Two entries: print them in order. */
			char names[2][NAME_MAX + 1] = {"", ""};
			int n = 0;
			struct dirent *e;
			while ((e = readdir(d)) != NULL)
				if (e->d_name[0] != '.' && n < 2)
					snprintf(names[n++], sizeof names[0], "%s", e->d_name);
			closedir(d);
			if (n == 2 && strcmp(names[0], names[1]) > 0)
				printf("list sharefd: %s %s\n", names[1], names[0]);
			else
				printf("list sharefd: %s %s\n", names[0], names[1]);
		}
		close(sharefd);
	}

	/* readlink gives each link's own text. */
	do_readlinkat("readlink abs", AT_FDCWD, w("abs"), HELLO);
	do_readlinkat("readlink rel", AT_FDCWD, w("rel"), rel);
	do_readlinkat("readlinkat workfd relshare", workfd, "relshare", relshare);
	do_readlinkat("readlink plink", AT_FDCWD, w("plink"), PROFILE_HELLO);
	do_readlinkat("readlink share/../dirchain", AT_FDCWD, w("share/../dirchain"), NULL);
	{
		char buf[PATH_MAX];
		printf("realpath chain1: %s\n", realpath(w("chain1"), buf) != NULL ? buf : errname(errno));
	}

	/* chdir through links, and getcwd. */
	printf("chdir share: %s\n", chdir(w("share")) == 0 ? "ok" : errname(errno));
	show_cwd("getcwd");
	show_fd("open data.txt", open("data.txt", O_RDONLY | O_CLOEXEC));
	printf("chdir ..: %s\n", chdir("..") == 0 ? "ok" : errname(errno));
	show_cwd("getcwd");
	printf("fchdir workfd: %s\n", fchdir(workfd) == 0 ? "ok" : errname(errno));
	show_cwd("getcwd");
	printf("chdir dirchain: %s\n", chdir("dirchain") == 0 ? "ok" : errname(errno));
	show_cwd("getcwd");
	printf("chdir work: %s\n", chdir(work) == 0 ? "ok" : errname(errno));

	/* exec through links. */
	do_exec("exec abs", AT_FDCWD, w("abs"), "abs", "one");
	do_exec("exec rel", AT_FDCWD, w("rel"), w("rel"), "two");
	do_exec("exec chain1", AT_FDCWD, "chain1", "chain1", "three");
	do_exec("exec plink", AT_FDCWD, w("plink"), "plink", "four");
	do_exec("execveat workfd abs", workfd, "abs", "abs", "five");
	do_exec("exec se", AT_FDCWD, w("se"), w("se"), NULL);
	do_exec("exec script", AT_FDCWD, w("script"), "script", "six");
	do_exec("exec dangling", AT_FDCWD, w("dangling"), "dangling", NULL);

	close(workfd);
	int bad = 0;
	for (size_t i = 0; i < sizeof made / sizeof made[0]; i++)
		if (unlink(w(made[i])) != 0) {
			printf("unlink %s: %s\n", made[i], errname(errno));
			bad = 1;
		}
	return bad;
}
