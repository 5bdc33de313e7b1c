/* startstate prints what a program inherits through execve, so that a test
 * can compare a direct start with a start through the launcher: the
 * arguments after argv[0], the working directory, the umask, the signal mask
 * and the ignored signals (raw system calls, so that glibc's reserved
 * signals 32 and 33 show too), every open descriptor with its kind, status
 * flags and close-on-exec flag, every resource limit, and the environment.
 * Pipe and socket inodes differ from run to run, so only their kind is
 * printed. With "-o FILE" first, the report goes to FILE, written after
 * everything was looked at, so that a program started with its standard
 * output closed can report too. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char **environ;

struct ksigaction {
	unsigned long handler;
	unsigned long flags;
	unsigned long restorer;
	unsigned long long mask;
};

int main(int argc, char **argv) {
	const char *out = NULL;
	int first = 1;
	if (argc > 2 && !strcmp(argv[1], "-o")) {
		out = argv[2];
		first = 3;
	}
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	if (!f)
		return 1;
#define printf(...) fprintf(f, __VA_ARGS__)
	for (int i = first; i < argc; i++)
		printf("arg: %s\n", argv[i]);
	char cwd[4096];
	printf("cwd: %s\n", getcwd(cwd, sizeof cwd) ? cwd : "?");
	mode_t m = umask(0);
	umask(m);
	printf("umask: %04o\n", m);

	unsigned long long blk = 0, ign = 0;
	syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &blk, 8);
	for (int sig = 1; sig <= 64; sig++) {
		struct ksigaction sa;
		if (syscall(SYS_rt_sigaction, sig, NULL, &sa, 8) == 0 && sa.handler == (unsigned long)SIG_IGN)
			ign |= 1ULL << (sig - 1);
	}
	printf("sigblk: %016llx\nsigign: %016llx\n", blk, ign);

	DIR *d = opendir("/proc/self/fd");
	if (d) {
		int own = dirfd(d);
		int fds[1024], n = 0;
		struct dirent *e;
		while ((e = readdir(d)) && n < 1024) {
			if (e->d_name[0] == '.')
				continue;
			int fd = atoi(e->d_name);
			if (fd != own)
				fds[n++] = fd;
		}
		closedir(d);
		for (int i = 0; i < n; i++)
			for (int j = i + 1; j < n; j++)
				if (fds[j] < fds[i]) {
					int t = fds[i];
					fds[i] = fds[j];
					fds[j] = t;
				}
		for (int i = 0; i < n; i++) {
			char link[64], target[4096];
			snprintf(link, sizeof link, "/proc/self/fd/%d", fds[i]);
			ssize_t len = readlink(link, target, sizeof target - 1);
			target[len < 0 ? 0 : len] = 0;
			if (!strncmp(target, "pipe:", 5))
				strcpy(target, "pipe");
			else if (!strncmp(target, "socket:", 7))
				strcpy(target, "socket");
			printf("fd %d: %s flags %o cloexec %d\n", fds[i], target, fcntl(fds[i], F_GETFL),
			       fcntl(fds[i], F_GETFD) & FD_CLOEXEC);
		}
	}

	for (int r = 0; r < RLIM_NLIMITS; r++) {
		struct rlimit rl;
		if (getrlimit(r, &rl) == 0)
			printf("rlimit %d: %llu %llu\n", r, (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max);
	}
	for (char **e = environ; *e; e++)
		printf("env: %s\n", *e);
	fclose(f);
	int fd = 1;
	if (out && (fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
		return 1;
	return write(fd, buf, size) == (ssize_t)size ? 0 : 1;
}
